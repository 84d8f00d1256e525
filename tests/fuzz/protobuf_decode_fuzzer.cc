// Fuzz target: protobuf decode of every message of the test schemas, and
// encode of whatever decodes.

#include "lua_fuzz.h"

extern "C" int luaopen_protobuf(lua_State *L);

static lua_State *setup() {
  return fuzz_state("protobuf", luaopen_protobuf, R"(
    assert(protobuf.loadfile("tests/lua/pb/game.proto"))
    assert(protobuf.loadfile("tests/lua/pb/legacy.proto"))
    local names = {"game.Scalars", "game.Player", "legacy.Config"}
    function fuzz(s)
      for _, name in ipairs(names) do
        local t = protobuf.decode(name, s)
        if t then protobuf.encode(name, t) end
      end
    end
  )");
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lua_State *L = setup();
  fuzz_call(L, "fuzz", data, size);
  return 0;
}
