#include "lua_api/payload.h"

namespace silly {

bool read_payload(lua_State *L, int idx, const void **data, size_t *size) {
  if (lua_type(L, idx) == LUA_TSTRING) {
    *data = lua_tolstring(L, idx, size);
    return true;
  }
  if (lua_type(L, idx) != LUA_TLIGHTUSERDATA) return false;
  lua_Integer n = luaL_checkinteger(L, idx + 1);
  luaL_argcheck(L, n >= 0, idx + 1, "size must not be negative");
  *data = lua_touserdata(L, idx);
  *size = static_cast<size_t>(n);
  return true;
}

int push_too_large(lua_State *L, size_t size, size_t limit) {
  lua_pushnil(L);
  lua_pushfstring(L, "payload too large: %I bytes (at most %I)", static_cast<lua_Integer>(size),
                  static_cast<lua_Integer>(limit));
  return 2;
}

}  // namespace silly
