// Fuzz target: protobuf decode of every message of the test schemas, and
// encode of whatever decodes.
#include <cstdio>
#include <cstdlib>

#include "lua_fuzz.h"

extern "C" int luaopen_protobuf(lua_State *L);

static lua_State *setup() {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "protobuf", luaopen_protobuf, 1);
  lua_pop(L, 1);
  if (luaL_dostring(L, R"(
    assert(protobuf.loadfile("tests/lua/pb/game.proto"))
    assert(protobuf.loadfile("tests/lua/pb/legacy.proto"))
    local names = {"game.Scalars", "game.Player", "legacy.Config"}
    function fuzz(s)
      for _, name in ipairs(names) do
        local t = protobuf.decode(name, s)
        if t then protobuf.encode(name, t) end
      end
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
