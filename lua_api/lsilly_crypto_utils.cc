// silly.crypto.utils: randomkey(n) -> n random letters a-z from OpenSSL's
// CSPRNG (session keys, nonces); xor(key, data) -> data with the key
// repeated over it (the original framework's light obfuscation; not
// encryption). An empty key raises. equal(a, b) -> boolean, constant
// time for equal lengths (ours).
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <lua.hpp>

#include "silly/lua_api/batteries.h"
#include "silly/lua_api/crypto_common.h"

namespace silly {

namespace {

constexpr lua_Integer kMaxRandomKey = 1 << 20;

int l_randomkey(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 0 && n <= kMaxRandomKey, 1, "utils.randomkey: length must be 0..1048576");
  luaL_Buffer b;
  auto *out = reinterpret_cast<unsigned char *>(luaL_buffinitsize(L, &b, static_cast<size_t>(n)));
  if (n > 0 && RAND_bytes(out, static_cast<int>(n)) != 1) return luaL_error(L, "utils.randomkey: %s", openssl_reason());
  // 256 = 9 * 26 + 22: bytes of 234 and above would favour a..v, so they
  // are drawn again.
  for (lua_Integer i = 0; i < n; i++) {
    while (out[i] >= 234) {
      if (RAND_bytes(&out[i], 1) != 1) return luaL_error(L, "utils.randomkey: %s", openssl_reason());
    }
    out[i] = static_cast<unsigned char>('a' + out[i] % 26);
  }
  luaL_pushresultsize(&b, static_cast<size_t>(n));
  return 1;
}

int l_xor(lua_State *L) {
  size_t key_len, len;
  const char *key = luaL_checklstring(L, 1, &key_len);
  const char *data = luaL_checklstring(L, 2, &len);
  luaL_argcheck(L, key_len > 0, 1, "utils.xor: the key must not be empty");
  luaL_Buffer b;
  char *out = luaL_buffinitsize(L, &b, len);
  for (size_t i = 0, k = 0; i < len; i++) {
    out[i] = static_cast<char>(data[i] ^ key[k]);
    if (++k == key_len) k = 0;
  }
  luaL_pushresultsize(&b, len);
  return 1;
}

// equal(a, b) -> boolean, in time that depends on the lengths only (ours:
// for comparing MACs and tokens without a timing leak).
int l_equal(lua_State *L) {
  size_t la, lb;
  const char *a = luaL_checklstring(L, 1, &la);
  const char *b = luaL_checklstring(L, 2, &lb);
  lua_pushboolean(L, la == lb && CRYPTO_memcmp(a, b, la) == 0);
  return 1;
}

}  // namespace

int open_silly_crypto_utils(lua_State *L) {
  const luaL_Reg fns[] = {{"randomkey", l_randomkey}, {"xor", l_xor}, {"equal", l_equal}, {nullptr, nullptr}};
  luaL_newlib(L, fns);
  return 1;
}

}  // namespace silly
