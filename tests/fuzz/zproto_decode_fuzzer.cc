// Fuzz target: zproto decode (every struct of the vector schema) and unpack.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "lua_fuzz.h"

extern "C" int luaopen_zproto(lua_State *L);

static lua_State *setup() {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "zproto", luaopen_zproto, 1);
  lua_pop(L, 1);
  std::ifstream in("tests/vectors/zproto/schema.zproto");
  std::stringstream ss;
  ss << in.rdbuf();
  lua_pushstring(L, ss.str().c_str());
  lua_setglobal(L, "SCHEMA");
  // Decode as each struct; unpack; and decode what unpack produced.
  if (luaL_dostring(L, R"(
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
  )") != LUA_OK) {
    std::fprintf(stderr, "fuzz setup: %s\n", lua_tostring(L, -1));
    std::abort();
  }
  return L;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lua_State *L = setup();
  fuzz_call(L, "fuzz", data, size);
  return 0;
}
