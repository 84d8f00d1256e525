// Shared by the codec fuzz targets: one Lua state for the whole run, and a
// protected call of a Lua function with the input as a string.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <lua.hpp>

// Calls the global function `fn` with (input) under lua_pcall. Only the
// errors a codec documents for bad input (zproto's "table index is nil"
// for a map element without its key) are legitimate outcomes; any other
// Lua error means the harness or the codec is broken, and aborts.
inline void fuzz_call(lua_State *L, const char *fn, const uint8_t *data, size_t size) {
  int top = lua_gettop(L);
  lua_getglobal(L, fn);
  lua_pushlstring(L, reinterpret_cast<const char *>(data), size);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    if (msg == nullptr ||
        (std::strstr(msg, "table index is nil") == nullptr && std::strstr(msg, "table index is NaN") == nullptr)) {
      std::fprintf(stderr, "fuzz: unexpected Lua error: %s\n", msg != nullptr ? msg : "?");
      std::abort();
    }
  }
  lua_settop(L, top);
  lua_gc(L, LUA_GCSTEP, 0);
}
