// The batteries: libraries a game server needs beside its own protocol,
// each a module of the original framework's name, built on a well-kept
// library (docs/batteries.md says which and why). The runtime preloads them;
// each opener is also what a fuzz target or a test links alone.
#pragma once

#include <lua.hpp>

namespace silly {

int open_silly_json(lua_State *L);           // silly.encoding.json (RapidJSON)
int open_silly_crypto_hash(lua_State *L);    // silly.crypto.hash (OpenSSL)
int open_silly_crypto_hmac(lua_State *L);    // silly.crypto.hmac (OpenSSL)
int open_silly_crypto_cipher(lua_State *L);  // silly.crypto.cipher (OpenSSL)
int open_silly_crypto_pkey(lua_State *L);    // silly.crypto.pkey (OpenSSL)
int open_silly_crypto_utils(lua_State *L);   // silly.crypto.utils (OpenSSL)
int open_silly_compress_gzip(lua_State *L);  // silly.compress.gzip (zlib)
int open_silly_websocket(lua_State *L);      // silly.websocket.c (wslay)
int open_silly_redis(lua_State *L);          // silly.redis.c (hiredis's reader)
int open_silly_http(lua_State *L);           // silly.http.c (Boost.Beast's parser)

// Adds every battery above to package.preload under its module name.
void preload_batteries(lua_State *L);

}  // namespace silly
