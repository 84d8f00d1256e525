// silly.encoding.base64: standard base64 (RFC 4648, with padding) on
// OpenSSL's EVP_EncodeBlock / EVP_DecodeBlock, for the etcd client (its
// JSON gateway carries keys and values as base64), and the URL-safe
// alphabet of the original framework's API.
//
// encode(s) -> string; decode(s) -> string, or nil and "invalid base64".
// urlsafe_encode(s) -> '-' and '_' for '+' and '/', no padding;
// urlsafe_decode(s) -> string, or nil and "invalid base64": either
// alphabet, padding optional.
#include <openssl/evp.h>

#include <lua.hpp>
#include <string>

#include "silly/lua_api/modules.h"

namespace silly {

namespace {

int b64_encode(lua_State *L) {
  size_t len;
  const char *src = luaL_checklstring(L, 1, &len);
  if (len > (static_cast<size_t>(INT32_MAX) / 4) * 3 - 3) return luaL_error(L, "base64.encode: input too large");
  size_t out_len = (len + 2) / 3 * 4;
  luaL_Buffer b;
  char *out = luaL_buffinitsize(L, &b, out_len + 1);  // EVP_EncodeBlock adds a NUL
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char *>(out), reinterpret_cast<const unsigned char *>(src),
                          static_cast<int>(len));
  luaL_pushresultsize(&b, static_cast<size_t>(n));
  return 1;
}

bool is_b64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

// EVP_DecodeBlock skips blanks around the text and reads "Z===" as a byte;
// base64 here is only the exact alphabet in groups of four, at most two
// '=' at the very end.
bool is_b64(const char *src, size_t len) {
  if (len % 4 != 0) return false;
  size_t pad = 0;
  while (pad < 2 && pad < len && src[len - 1 - pad] == '=') pad++;
  for (size_t i = 0; i < len - pad; i++)
    if (!is_b64_char(src[i])) return false;
  return true;
}

int decode_checked(lua_State *L, const char *src, size_t len) {
  if (!is_b64(src, len) || len > static_cast<size_t>(INT32_MAX)) {
    lua_pushnil(L);
    lua_pushliteral(L, "invalid base64");
    return 2;
  }
  if (len == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  size_t pad = src[len - 1] == '=' ? (src[len - 2] == '=' ? 2 : 1) : 0;
  luaL_Buffer b;
  char *out = luaL_buffinitsize(L, &b, len / 4 * 3 + 1);
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char *>(out), reinterpret_cast<const unsigned char *>(src),
                          static_cast<int>(len));
  if (n < 0) {  // not expected once is_b64 holds; kept as the library's word
    luaL_pushresultsize(&b, 0);
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_pushliteral(L, "invalid base64");
    return 2;
  }
  // EVP_DecodeBlock counts the bytes that '=' stands for as zeros.
  luaL_pushresultsize(&b, static_cast<size_t>(n) - pad);
  return 1;
}

int b64_decode(lua_State *L) {
  size_t len;
  const char *src = luaL_checklstring(L, 1, &len);
  return decode_checked(L, src, len);
}

int b64_urlsafe_encode(lua_State *L) {
  b64_encode(L);
  size_t n;
  const char *s = lua_tolstring(L, -1, &n);
  std::string out(s, n);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char &c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  lua_pushlstring(L, out.data(), out.size());
  return 1;
}

int b64_urlsafe_decode(lua_State *L) {
  size_t len;
  const char *src = luaL_checklstring(L, 1, &len);
  std::string s(src, len);
  for (char &c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
  if (s.size() % 4 == 1) s.push_back('!');  // no length of base64: refused below
  while (s.size() % 4 != 0) s.push_back('=');
  return decode_checked(L, s.data(), s.size());
}

}  // namespace

int open_silly_base64(lua_State *L) {
  const luaL_Reg fns[] = {
      {"encode", b64_encode},
      {"decode", b64_decode},
      {"urlsafe_encode", b64_urlsafe_encode},
      {"urlsafe_decode", b64_urlsafe_decode},
      {nullptr, nullptr},
  };
  luaL_newlib(L, fns);
  return 1;
}

}  // namespace silly
