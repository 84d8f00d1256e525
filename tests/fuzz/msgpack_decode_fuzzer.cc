// Fuzz target: msgpack decode, and encode of whatever decodes.
#include <cstdio>
#include <cstdlib>

#include "lua_fuzz.h"

extern "C" int luaopen_msgpack(lua_State *L);

static lua_State *setup() {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "msgpack", luaopen_msgpack, 1);
  lua_pop(L, 1);
  if (luaL_dostring(L, R"(
    function fuzz(s)
      local v, used = msgpack.decode(s)
      if math.type(used) == "integer" then msgpack.encode(v) end
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
