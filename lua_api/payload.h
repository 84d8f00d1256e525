// Payload arguments as every binding and codec plugin reads them: a Lua
// string, or a lightuserdata followed by its size. Header-only, so that the
// plugins, which link no runtime, read them exactly as the runtime does.
#pragma once

#include <cstddef>
#include <lua.hpp>

namespace silly {

// How many arguments the payload at idx takes: 1 (a string), 2 (a
// lightuserdata and its size), or 0 when it is neither. A negative size
// raises an error naming `fname`. The pointer stays the caller's.
inline int read_payload(lua_State *L, int idx, const char *fname, const void **data, size_t *size) {
  if (lua_type(L, idx) == LUA_TSTRING) {
    *data = lua_tolstring(L, idx, size);
    return 1;
  }
  if (lua_type(L, idx) != LUA_TLIGHTUSERDATA) return 0;
  lua_Integer n = luaL_checkinteger(L, idx + 1);
  if (n < 0) luaL_error(L, "%s: size must not be negative", fname);
  *data = lua_touserdata(L, idx);
  *size = static_cast<size_t>(n);
  return 2;
}

// Pushes nil, "payload too large: N bytes (at most LIMIT)"; returns 2.
inline int push_too_large(lua_State *L, size_t size, size_t limit) {
  lua_pushnil(L);
  lua_pushfstring(L, "payload too large: %I bytes (at most %I)", static_cast<lua_Integer>(size),
                  static_cast<lua_Integer>(limit));
  return 2;
}

}  // namespace silly
