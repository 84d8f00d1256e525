#include "silly/codecs/common/codec.h"

#include "silly/lua_api/payload.h"

namespace codec {

void check_input(lua_State *L, int idx, const char *fname, const uint8_t **data, size_t *size) {
  const void *p = nullptr;
  if (silly::read_payload(L, idx, fname, &p, size) == 0) {
    luaL_error(L, "%s: string or (lightuserdata, size) expected, got %s", fname, luaL_typename(L, idx));
  }
  *data = static_cast<const uint8_t *>(p);
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
