// Shared by the codec fuzz targets: one Lua state for the whole run, and a
// protected call of a Lua function with the input as a string.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <lua.hpp>

// A Lua state with the standard libraries, the codec `name` opened as a
// global, and `script` run (it defines the global function `fuzz`).
inline lua_State *fuzz_state(const char *name, lua_CFunction open, const char *script) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, name, open, 1);
  lua_pop(L, 1);
  if (luaL_dostring(L, script) != LUA_OK) {
    std::fprintf(stderr, "fuzz setup: %s\n", lua_tostring(L, -1));
    std::abort();
  }
  return L;
}

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
