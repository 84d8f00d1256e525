// Fuzz target: zproto decode (every struct of the vector schema) and unpack.
#include <fstream>
#include <sstream>
#include <string>

#include "lua_fuzz.h"

extern "C" int luaopen_zproto(lua_State *L);

static lua_State *setup() {
  std::ifstream in("tests/vectors/zproto/schema.zproto");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string script = "SCHEMA = [==[" + ss.str() + "]==]\n" + R"(
    local proto = assert(zproto:parse(SCHEMA))
    local names = {}
    for _, name in proto:travel("struct") do names[#names + 1] = name end
    function fuzz(s)
      for _, name in ipairs(names) do proto:decode(name, s) end
      local u = proto:unpack(s)
      if u then proto:decode(names[(#s % #names) + 1], u) end
      local p, n = proto:pack(s, true)
      local back = proto:unpack(p, n, true)
    end
  )";
  return fuzz_state("zproto", luaopen_zproto, script.c_str());
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lua_State *L = setup();
  fuzz_call(L, "fuzz", data, size);
  return 0;
}
