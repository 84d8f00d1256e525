// Fuzz target: msgpack decode, and encode of whatever decodes.

#include "lua_fuzz.h"

extern "C" int luaopen_msgpack(lua_State *L);

static lua_State *setup() {
  return fuzz_state("msgpack", luaopen_msgpack, R"(
    function fuzz(s)
      local v, used = msgpack.decode(s)
      if math.type(used) == "integer" then msgpack.encode(v) end
    end
  )");
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lua_State *L = setup();
  fuzz_call(L, "fuzz", data, size);
  return 0;
}
