#include "silly/lua_api/batteries.h"

namespace silly {

void preload_batteries(lua_State *L) {
  const luaL_Reg batteries[] = {
      {"silly.encoding.json", open_silly_json},          {"silly.crypto.hash", open_silly_crypto_hash},
      {"silly.crypto.hmac", open_silly_crypto_hmac},     {"silly.crypto.cipher", open_silly_crypto_cipher},
      {"silly.crypto.pkey", open_silly_crypto_pkey},     {"silly.crypto.utils", open_silly_crypto_utils},
      {"silly.compress.gzip", open_silly_compress_gzip}, {"silly.http.c", open_silly_http},
      {"silly.websocket.c", open_silly_websocket},       {"silly.redis.c", open_silly_redis},
  };
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  for (const luaL_Reg &b : batteries) {
    lua_pushcfunction(L, b.func);
    lua_setfield(L, -2, b.name);
  }
  lua_pop(L, 1);
}

}  // namespace silly
