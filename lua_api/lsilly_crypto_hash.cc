// silly.crypto.hash and silly.crypto.hmac: message digests and HMACs on
// OpenSSL's EVP (any digest OpenSSL knows by name).
//
// hash.new(alg) -> h; h:update(s); h:final() -> digest (h may be reset
// after); h:reset(); h:digest(s) -> digest of s alone (resets first);
// hash.hash(alg, s) -> digest. hmac.digest(key, data, alg) -> mac.
// Digests and macs are raw bytes. An unknown alg raises
// "<function>: unknown digest method: '<alg>'".
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <lua.hpp>

#include "silly/lua_api/batteries.h"
#include "silly/lua_api/crypto_common.h"

namespace silly {

namespace {

constexpr const char *kHashMeta = "silly.crypto.hash";

struct Hash {
  const EVP_MD *md;
  EVP_MD_CTX *ctx;
};

Hash *check_hash(lua_State *L) {
  return static_cast<Hash *>(luaL_checkudata(L, 1, kHashMeta));
}

int l_hash_gc(lua_State *L) {
  auto *h = static_cast<Hash *>(lua_touserdata(L, 1));
  EVP_MD_CTX_free(h->ctx);
  h->ctx = nullptr;
  return 0;
}

void restart(lua_State *L, Hash *h, const char *fname) {
  if (EVP_DigestInit_ex(h->ctx, h->md, nullptr) != 1) luaL_error(L, "%s: %s", fname, openssl_reason());
}

int l_new(lua_State *L) {
  const EVP_MD *md = check_digest(L, 1, "hash.new");
  auto *h = static_cast<Hash *>(lua_newuserdatauv(L, sizeof(Hash), 0));
  h->md = md;
  h->ctx = EVP_MD_CTX_new();
  luaL_setmetatable(L, kHashMeta);  // from here __gc frees the context
  if (h->ctx == nullptr) return luaL_error(L, "hash.new: out of memory");
  restart(L, h, "hash.new");
  return 1;
}

int l_update(lua_State *L) {
  Hash *h = check_hash(L);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  if (EVP_DigestUpdate(h->ctx, s, len) != 1) return luaL_error(L, "hash.update: %s", openssl_reason());
  return 0;
}

int push_final(lua_State *L, Hash *h, const char *fname) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(h->ctx, out, &n) != 1) return luaL_error(L, "%s: %s", fname, openssl_reason());
  restart(L, h, fname);  // ready for the next message, as after reset()
  lua_pushlstring(L, reinterpret_cast<char *>(out), n);
  return 1;
}

int l_final(lua_State *L) {
  return push_final(L, check_hash(L), "hash.final");
}

int l_reset(lua_State *L) {
  restart(L, check_hash(L), "hash.reset");
  return 0;
}

int l_digest(lua_State *L) {
  Hash *h = check_hash(L);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  restart(L, h, "hash.digest");
  if (EVP_DigestUpdate(h->ctx, s, len) != 1) return luaL_error(L, "hash.digest: %s", openssl_reason());
  return push_final(L, h, "hash.digest");
}

int l_oneshot(lua_State *L) {
  const EVP_MD *md = check_digest(L, 1, "hash.hash");
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(s, len, out, &n, md, nullptr) != 1) return luaL_error(L, "hash.hash: %s", openssl_reason());
  lua_pushlstring(L, reinterpret_cast<char *>(out), n);
  return 1;
}

int l_hmac(lua_State *L) {
  size_t key_len, len;
  const char *key = luaL_checklstring(L, 1, &key_len);
  const char *data = luaL_checklstring(L, 2, &len);
  const EVP_MD *md = check_digest(L, 3, "hmac.digest");
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  // An empty key is a valid HMAC key; OpenSSL wants a non-null pointer.
  static const unsigned char kEmpty = 0;
  const void *k = key_len > 0 ? static_cast<const void *>(key) : &kEmpty;
  if (HMAC(md, k, static_cast<int>(key_len), reinterpret_cast<const unsigned char *>(data), len, out, &n) == nullptr) {
    return luaL_error(L, "hmac.digest: %s", openssl_reason());
  }
  lua_pushlstring(L, reinterpret_cast<char *>(out), n);
  return 1;
}

}  // namespace

int open_silly_crypto_hash(lua_State *L) {
  const luaL_Reg fns[] = {
      {"new", l_new},     {"hash", l_oneshot},  {"update", l_update}, {"final", l_final},
      {"reset", l_reset}, {"digest", l_digest}, {nullptr, nullptr},
  };
  push_object_module(L, fns, kHashMeta, l_hash_gc);
  return 1;
}

int open_silly_crypto_hmac(lua_State *L) {
  const luaL_Reg fns[] = {{"digest", l_hmac}, {nullptr, nullptr}};
  luaL_newlib(L, fns);
  return 1;
}

}  // namespace silly
