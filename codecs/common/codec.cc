#include "codecs/common/codec.h"

namespace codec {

void check_input(lua_State *L, int idx, const char *fname, const uint8_t **data, size_t *size) {
  if (lua_type(L, idx) == LUA_TSTRING) {
    *data = reinterpret_cast<const uint8_t *>(lua_tolstring(L, idx, size));
    return;
  }
  if (lua_type(L, idx) != LUA_TLIGHTUSERDATA) {
    luaL_error(L, "%s: string or (lightuserdata, size) expected, got %s", fname, luaL_typename(L, idx));
  }
  lua_Integer n = luaL_checkinteger(L, idx + 1);
  if (n < 0) luaL_error(L, "%s: size must not be negative", fname);
  *data = static_cast<const uint8_t *>(lua_touserdata(L, idx));
  *size = static_cast<size_t>(n);
}

int push_output(lua_State *L, const void *data, size_t size, bool raw) {
  if (raw) {
    lua_pushlightuserdata(L, const_cast<void *>(data));
    lua_pushinteger(L, static_cast<lua_Integer>(size));
    return 2;
  }
  lua_pushlstring(L, static_cast<const char *>(data), size);
  return 1;
}

void TableGuard::enter(int idx) {
  const void *t = lua_topointer(L_, idx);
  if (depth_ >= max_depth_) luaL_error(L_, "%s: nesting deeper than %d levels", fname_, max_depth_);
  for (int i = 0; i < depth_; i++) {
    if (path_[i] == t) luaL_error(L_, "%s: a table contains itself (reference cycle)", fname_);
  }
  path_[depth_++] = t;
}

}  // namespace codec
