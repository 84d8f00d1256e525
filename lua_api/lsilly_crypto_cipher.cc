// silly.crypto.cipher: symmetric ciphers on OpenSSL's EVP (any cipher
// OpenSSL knows by name: "aes-128-cbc", "aes-256-gcm", "chacha20-poly1305"...).
//
// cipher.encryptor(alg, key[, iv]) / cipher.decryptor(alg, key[, iv]) -> c
//   (key and iv of the cipher's exact lengths, or a raise naming both).
// c:update(s) -> output so far; c:final([s]) -> the rest, or nil when the
//   input does not check out (bad padding, or an AEAD tag that does not
//   match); c:reset(key[, iv]) starts a new message; c:setpadding(0|1);
//   c:setaad(s), c:settag(tag) (before final, decrypting), c:tag() (after
//   final, encrypting) for AEAD ciphers.
#include <openssl/evp.h>

#include <lua.hpp>

#include "silly/lua_api/batteries.h"
#include "silly/lua_api/crypto_common.h"

namespace silly {

namespace {

constexpr const char *kCipherMeta = "silly.crypto.cipher";
constexpr int kMaxTag = 16;  // the longest AEAD tag (GCM, CCM, Poly1305)

struct Cipher {
  const EVP_CIPHER *cipher;
  EVP_CIPHER_CTX *ctx;
  int encrypt;
  int padding;  // -1: the cipher's default
};

Cipher *check_cipher(lua_State *L) {
  return static_cast<Cipher *>(luaL_checkudata(L, 1, kCipherMeta));
}

int l_gc(lua_State *L) {
  auto *c = static_cast<Cipher *>(lua_touserdata(L, 1));
  EVP_CIPHER_CTX_free(c->ctx);
  c->ctx = nullptr;
  return 0;
}

// Checks key (and iv, when given) against the cipher's lengths; returns
// the iv or nullptr.
const unsigned char *check_key_iv(lua_State *L, int key_idx, const EVP_CIPHER *cipher, const char *fname,
                                  const unsigned char **key) {
  size_t key_len;
  *key = reinterpret_cast<const unsigned char *>(luaL_checklstring(L, key_idx, &key_len));
  int want = EVP_CIPHER_get_key_length(cipher);
  if (key_len != static_cast<size_t>(want)) {
    luaL_error(L, "%s: key length need:%d got:%d", fname, want, static_cast<int>(key_len));
  }
  if (lua_isnoneornil(L, key_idx + 1)) return nullptr;
  size_t iv_len;
  const char *iv = luaL_checklstring(L, key_idx + 1, &iv_len);
  int want_iv = EVP_CIPHER_get_iv_length(cipher);
  if (iv_len != static_cast<size_t>(want_iv)) {
    luaL_error(L, "%s: iv length need:%d got:%d", fname, want_iv, static_cast<int>(iv_len));
  }
  return reinterpret_cast<const unsigned char *>(iv);
}

int make(lua_State *L, int encrypt, const char *fname) {
  const char *alg = luaL_checkstring(L, 1);
  const EVP_CIPHER *cipher = EVP_get_cipherbyname(alg);
  if (cipher == nullptr) return luaL_error(L, "%s: unknown algorithm: %s", fname, alg);
  const unsigned char *key;
  const unsigned char *iv = check_key_iv(L, 2, cipher, fname, &key);
  auto *c = static_cast<Cipher *>(lua_newuserdatauv(L, sizeof(Cipher), 0));
  c->cipher = cipher;
  c->encrypt = encrypt;
  c->padding = -1;
  c->ctx = EVP_CIPHER_CTX_new();
  luaL_setmetatable(L, kCipherMeta);
  if (c->ctx == nullptr) return luaL_error(L, "%s: out of memory", fname);
  if (EVP_CipherInit_ex(c->ctx, cipher, nullptr, key, iv, encrypt) != 1) {
    return luaL_error(L, "%s: %s", fname, openssl_reason());
  }
  return 1;
}

int l_encryptor(lua_State *L) {
  return make(L, 1, "cipher.encryptor");
}
int l_decryptor(lua_State *L) {
  return make(L, 0, "cipher.decryptor");
}

int l_reset(lua_State *L) {
  Cipher *c = check_cipher(L);
  const unsigned char *key;
  const unsigned char *iv = check_key_iv(L, 2, c->cipher, "cipher.reset", &key);
  EVP_CIPHER_CTX_reset(c->ctx);
  if (EVP_CipherInit_ex(c->ctx, c->cipher, nullptr, key, iv, c->encrypt) != 1) {
    return luaL_error(L, "cipher.reset: %s", openssl_reason());
  }
  if (c->padding >= 0 && EVP_CIPHER_CTX_set_padding(c->ctx, c->padding) != 1) {
    return luaL_error(L, "cipher.reset: %s", openssl_reason());
  }
  return 0;
}

// Runs `len` bytes through the cipher into b; false on failure.
bool feed(Cipher *c, luaL_Buffer *b, const char *s, size_t len) {
  constexpr size_t kStep = 1 << 20;  // EVP takes int lengths
  while (len > 0) {
    int n = static_cast<int>(len < kStep ? len : kStep);
    auto *out = reinterpret_cast<unsigned char *>(luaL_prepbuffsize(b, static_cast<size_t>(n) + EVP_MAX_BLOCK_LENGTH));
    int outl = 0;
    if (EVP_CipherUpdate(c->ctx, out, &outl, reinterpret_cast<const unsigned char *>(s), n) != 1) return false;
    luaL_addsize(b, static_cast<size_t>(outl));
    s += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

int l_update(lua_State *L) {
  Cipher *c = check_cipher(L);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  if (!feed(c, &b, s, len)) return luaL_error(L, "cipher.update: %s", openssl_reason());
  luaL_pushresult(&b);
  return 1;
}

int l_final(lua_State *L) {
  Cipher *c = check_cipher(L);
  size_t len = 0;
  const char *s = luaL_optlstring(L, 2, "", &len);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  if (!feed(c, &b, s, len)) return luaL_error(L, "cipher.final: %s", openssl_reason());
  auto *out = reinterpret_cast<unsigned char *>(luaL_prepbuffsize(&b, EVP_MAX_BLOCK_LENGTH));
  int outl = 0;
  if (EVP_CipherFinal_ex(c->ctx, out, &outl) != 1) {
    // Bad padding or a tag that does not match: the input is not to be
    // trusted, and nothing of it is returned.
    ERR_clear_error();
    lua_pushnil(L);
    return 1;
  }
  luaL_addsize(&b, static_cast<size_t>(outl));
  luaL_pushresult(&b);
  return 1;
}

int l_setpadding(lua_State *L) {
  Cipher *c = check_cipher(L);
  int padding = static_cast<int>(luaL_checkinteger(L, 2));
  if (EVP_CIPHER_CTX_set_padding(c->ctx, padding) != 1) return luaL_error(L, "cipher.setpadding: %s", openssl_reason());
  c->padding = padding;
  return 0;
}

int l_setaad(lua_State *L) {
  Cipher *c = check_cipher(L);
  size_t len;
  const char *aad = luaL_checklstring(L, 2, &len);
  int outl = 0;
  if (EVP_CipherUpdate(c->ctx, nullptr, &outl, reinterpret_cast<const unsigned char *>(aad), static_cast<int>(len)) !=
      1) {
    return luaL_error(L, "cipher.setaad: %s", openssl_reason());
  }
  return 0;
}

int l_settag(lua_State *L) {
  Cipher *c = check_cipher(L);
  size_t len;
  const char *tag = luaL_checklstring(L, 2, &len);
  if (EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(len), const_cast<char *>(tag)) != 1) {
    return luaL_error(L, "cipher.settag: %s", openssl_reason());
  }
  return 0;
}

int l_tag(lua_State *L) {
  Cipher *c = check_cipher(L);
  int n = EVP_CIPHER_CTX_get_tag_length(c->ctx);
  unsigned char tag[kMaxTag];
  if (n <= 0 || n > kMaxTag || EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_AEAD_GET_TAG, n, tag) != 1) {
    return luaL_error(L, "cipher.tag: %s", n <= 0 ? "not an AEAD cipher" : openssl_reason());
  }
  lua_pushlstring(L, reinterpret_cast<char *>(tag), static_cast<size_t>(n));
  return 1;
}

}  // namespace

int open_silly_crypto_cipher(lua_State *L) {
  const luaL_Reg fns[] = {
      {"encryptor", l_encryptor}, {"decryptor", l_decryptor}, {"reset", l_reset},
      {"update", l_update},       {"final", l_final},         {"setpadding", l_setpadding},
      {"setaad", l_setaad},       {"settag", l_settag},       {"tag", l_tag},
      {nullptr, nullptr},
  };
  push_object_module(L, fns, kCipherMeta, l_gc);
  return 1;
}

}  // namespace silly
