// silly.crypto.pkey: public-key signatures (RSA, EC, Ed25519) on OpenSSL's
// EVP_DigestSign / EVP_DigestVerify.
//
// pkey.new(key[, password]) -> k: a private or public key in PEM (PKCS#8,
//   PKCS#1, SEC1, SubjectPublicKeyInfo; encrypted PEM with the password) or
//   DER; raises "pkey.new: ..." otherwise.
// k:sign(message, alg) -> signature (alg a digest name: "sha256"...).
// k:verify(message, signature, alg) -> boolean: false for a signature that
//   does not check out, whatever is wrong with it.
// k:type() -> "rsa", "ec", "ed25519"... (ours); k:bits() -> key size.
// EC signatures are DER (ECDSA-Sig-Value), as OpenSSL makes them;
// silly.security.jwt converts them to JOSE's fixed-size form with the
// internal _jose(der, n) and _der(jose).
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstring>
#include <lua.hpp>

#include "silly/lua_api/batteries.h"
#include "silly/lua_api/crypto_common.h"

namespace silly {

namespace {

constexpr const char *kPkeyMeta = "silly.crypto.pkey";

struct Pkey {
  EVP_PKEY *key;
};

Pkey *check_pkey(lua_State *L) {
  return static_cast<Pkey *>(luaL_checkudata(L, 1, kPkeyMeta));
}

int l_gc(lua_State *L) {
  auto *k = static_cast<Pkey *>(lua_touserdata(L, 1));
  EVP_PKEY_free(k->key);
  k->key = nullptr;
  return 0;
}

struct Password {
  const char *text;
  size_t len;
};

// PEM's password callback: the given password, or none (an encrypted key
// without one fails instead of prompting on the terminal).
int password_cb(char *buf, int size, int, void *userdata) {
  const auto *pw = static_cast<const Password *>(userdata);
  if (pw == nullptr || pw->text == nullptr) return -1;
  size_t n = pw->len < static_cast<size_t>(size) ? pw->len : static_cast<size_t>(size);
  std::memcpy(buf, pw->text, n);
  return static_cast<int>(n);
}

EVP_PKEY *load_key(const char *text, size_t len, Password *pw) {
  BIO *bio = BIO_new_mem_buf(text, static_cast<int>(len));
  if (bio == nullptr) return nullptr;
  EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, nullptr, password_cb, pw);
  if (key == nullptr) {
    BIO_reset(bio);
    key = PEM_read_bio_PUBKEY(bio, nullptr, password_cb, pw);
  }
  if (key == nullptr) {
    BIO_reset(bio);
    key = d2i_PrivateKey_bio(bio, nullptr);
  }
  if (key == nullptr) {
    BIO_reset(bio);
    key = d2i_PUBKEY_bio(bio, nullptr);
  }
  BIO_free(bio);
  return key;
}

int l_new(lua_State *L) {
  size_t len;
  const char *text = luaL_checklstring(L, 1, &len);
  Password pw{nullptr, 0};
  if (!lua_isnoneornil(L, 2)) pw.text = luaL_checklstring(L, 2, &pw.len);
  auto *k = static_cast<Pkey *>(lua_newuserdatauv(L, sizeof(Pkey), 0));
  k->key = nullptr;
  luaL_setmetatable(L, kPkeyMeta);
  k->key = load_key(text, len, &pw);
  if (k->key == nullptr) {
    return luaL_error(L, "pkey.new: cannot load the key (%s)",
                      pw.text != nullptr ? openssl_reason()
                                         : "not a PEM or DER key, or it "
                                           "needs a password");
  }
  ERR_clear_error();  // the formats tried before the one that loaded
  return 1;
}

// Ed25519 and Ed448 sign the message itself: no digest is given to them.
const EVP_MD *digest_for(lua_State *L, EVP_PKEY *key, int idx, const char *fname) {
  int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) return nullptr;
  return check_digest(L, idx, fname);
}

int l_sign(lua_State *L) {
  Pkey *k = check_pkey(L);
  size_t len;
  const char *msg = luaL_checklstring(L, 2, &len);
  const EVP_MD *md = digest_for(L, k->key, 3, "pkey.sign");
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return luaL_error(L, "pkey.sign: out of memory");
  size_t sig_len = 0;
  bool ok = EVP_DigestSignInit(ctx, nullptr, md, nullptr, k->key) == 1 &&
            EVP_DigestSign(ctx, nullptr, &sig_len, reinterpret_cast<const unsigned char *>(msg), len) == 1;
  luaL_Buffer b;
  unsigned char *out = ok ? reinterpret_cast<unsigned char *>(luaL_buffinitsize(L, &b, sig_len)) : nullptr;
  ok = ok && EVP_DigestSign(ctx, out, &sig_len, reinterpret_cast<const unsigned char *>(msg), len) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return luaL_error(L, "pkey.sign: %s", openssl_reason());
  luaL_pushresultsize(&b, sig_len);
  return 1;
}

int l_verify(lua_State *L) {
  Pkey *k = check_pkey(L);
  size_t len, sig_len;
  const char *msg = luaL_checklstring(L, 2, &len);
  const char *sig = luaL_checklstring(L, 3, &sig_len);
  const EVP_MD *md = digest_for(L, k->key, 4, "pkey.verify");
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return luaL_error(L, "pkey.verify: out of memory");
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, k->key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char *>(sig), sig_len,
                             reinterpret_cast<const unsigned char *>(msg), len) == 1;
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();  // a bad signature is an answer, not an error
  lua_pushboolean(L, ok);
  return 1;
}

int l_type(lua_State *L) {
  Pkey *k = check_pkey(L);
  switch (EVP_PKEY_get_base_id(k->key)) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS: lua_pushliteral(L, "rsa"); break;
    case EVP_PKEY_EC: lua_pushliteral(L, "ec"); break;
    case EVP_PKEY_ED25519: lua_pushliteral(L, "ed25519"); break;
    case EVP_PKEY_ED448: lua_pushliteral(L, "ed448"); break;
    default: lua_pushliteral(L, "other"); break;
  }
  return 1;
}

// _jose(der, n) -> the ECDSA signature `der` as JOSE's r || s, each n
// bytes (RFC 7518, 3.4), or nil when it is not a DER signature that fits.
int l_ecdsa_jose(lua_State *L) {
  size_t len;
  const auto *der = reinterpret_cast<const unsigned char *>(luaL_checklstring(L, 1, &len));
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_argcheck(L, n > 0 && n <= 66, 2, "pkey._jose: 1..66 bytes");
  ECDSA_SIG *sig = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(len));
  unsigned char out[2 * 66];
  bool ok = sig != nullptr && BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, static_cast<int>(n)) == n &&
            BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + n, static_cast<int>(n)) == n;
  ECDSA_SIG_free(sig);
  ERR_clear_error();
  if (!ok) return 0;
  lua_pushlstring(L, reinterpret_cast<char *>(out), static_cast<size_t>(2 * n));
  return 1;
}

// _der(jose) -> the r || s signature as DER, or nil when its length is odd.
int l_ecdsa_der(lua_State *L) {
  size_t len;
  const auto *raw = reinterpret_cast<const unsigned char *>(luaL_checklstring(L, 1, &len));
  if (len == 0 || len % 2 != 0 || len > 2 * 66) return 0;
  int n = static_cast<int>(len / 2);
  ECDSA_SIG *sig = ECDSA_SIG_new();
  BIGNUM *r = BN_bin2bn(raw, n, nullptr);
  BIGNUM *s = BN_bin2bn(raw + n, n, nullptr);
  unsigned char *der = nullptr;
  int der_len = -1;
  if (sig != nullptr && r != nullptr && s != nullptr && ECDSA_SIG_set0(sig, r, s) == 1) {
    r = s = nullptr;  // owned by sig now
    der_len = i2d_ECDSA_SIG(sig, &der);
  }
  BN_free(r);
  BN_free(s);
  ECDSA_SIG_free(sig);
  ERR_clear_error();
  if (der_len <= 0) return 0;
  lua_pushlstring(L, reinterpret_cast<char *>(der), static_cast<size_t>(der_len));
  OPENSSL_free(der);
  return 1;
}

int l_bits(lua_State *L) {
  lua_pushinteger(L, EVP_PKEY_get_bits(check_pkey(L)->key));
  return 1;
}

}  // namespace

int open_silly_crypto_pkey(lua_State *L) {
  const luaL_Reg fns[] = {
      {"new", l_new},   {"sign", l_sign},        {"verify", l_verify},  {"type", l_type},
      {"bits", l_bits}, {"_jose", l_ecdsa_jose}, {"_der", l_ecdsa_der}, {nullptr, nullptr},
  };
  push_object_module(L, fns, kPkeyMeta, l_gc);
  return 1;
}

}  // namespace silly
