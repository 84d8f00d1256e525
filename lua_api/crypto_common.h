// What the crypto bindings share: digests by name and OpenSSL's reason for
// the last failure. Header-only; OpenSSL 3 EVP throughout.
#pragma once

#include <openssl/err.h>
#include <openssl/evp.h>

#include <lua.hpp>

namespace silly {

// The digest named by the string at idx ("sha256", "SHA256", "md5"...);
// raises "<fname>: unknown digest method: '<name>'" otherwise.
inline const EVP_MD *check_digest(lua_State *L, int idx, const char *fname) {
  const char *name = luaL_checkstring(L, idx);
  const EVP_MD *md = EVP_get_digestbyname(name);
  if (md == nullptr) luaL_error(L, "%s: unknown digest method: '%s'", fname, name);
  return md;
}

// OpenSSL's text for the oldest error queued, and the queue emptied (so a
// later failure is not reported with this one's reason).
inline const char *openssl_reason() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  const char *why = e != 0 ? ERR_reason_error_string(e) : nullptr;
  return why != nullptr ? why : "unknown reason";
}

// Pushes a module of `fns` whose functions are also the methods of its
// objects: the metatable `meta` gets `gc` as __gc and the module as __index.
inline void push_object_module(lua_State *L, const luaL_Reg *fns, const char *meta, lua_CFunction gc) {
  lua_newtable(L);
  luaL_setfuncs(L, fns, 0);
  if (luaL_newmetatable(L, meta)) {
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
}

}  // namespace silly
