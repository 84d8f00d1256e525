// silly.redis.c: RESP replies (the Redis protocol) parsed by hiredis's
// reader, for silly.store.redis; the Lua side does the I/O.
//
// reader() -> r; r:feed(s) appends received bytes.
// r:next() -> true, ok, value: the next whole reply, where ok is false for
//   an error reply and value is its Lua form (status and bulk strings as
//   strings, integers as integers, nil for a null, arrays as tables whose
//   ok is false when any element is an error, as the original framework's);
//   false when more bytes are needed; nil and the reason on a protocol error.
#include <hiredis/hiredis.h>

#include <lua.hpp>
#include <new>

#include "silly/lua_api/batteries.h"

namespace silly {

namespace {

constexpr const char *kReaderMeta = "silly.redis.reader";

struct Reader {
  redisReader *r = nullptr;
  ~Reader() {
    if (r != nullptr) redisReaderFree(r);
  }
};

Reader *check_reader(lua_State *L) {
  return static_cast<Reader *>(luaL_checkudata(L, 1, kReaderMeta));
}

int l_gc(lua_State *L) {
  static_cast<Reader *>(lua_touserdata(L, 1))->~Reader();
  return 0;
}

int l_reader(lua_State *L) {
  auto *rd = static_cast<Reader *>(lua_newuserdatauv(L, sizeof(Reader), 0));
  new (rd) Reader();
  luaL_setmetatable(L, kReaderMeta);
  rd->r = redisReaderCreate();
  if (rd->r == nullptr) return luaL_error(L, "redis: out of memory");
  return 1;
}

int l_feed(lua_State *L) {
  Reader *rd = check_reader(L);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  if (redisReaderFeed(rd->r, s, len) != REDIS_OK) return luaL_error(L, "redis: out of memory");
  return 0;
}

// Pushes the Lua form of `reply`; returns whether it (and every element
// of an array) was a success.
bool push_reply(lua_State *L, const redisReply *reply) {
  luaL_checkstack(L, 3, "redis: reply nested too deep");
  switch (reply->type) {
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_STRING: lua_pushlstring(L, reply->str, reply->len); return true;
    case REDIS_REPLY_ERROR: lua_pushlstring(L, reply->str, reply->len); return false;
    case REDIS_REPLY_INTEGER: lua_pushinteger(L, static_cast<lua_Integer>(reply->integer)); return true;
    case REDIS_REPLY_ARRAY: {
      bool ok = true;
      lua_createtable(L, static_cast<int>(reply->elements), 0);
      for (size_t i = 0; i < reply->elements; i++) {
        ok = push_reply(L, reply->element[i]) && ok;
        lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
      }
      return ok;
    }
    default:  // REDIS_REPLY_NIL
      lua_pushnil(L);
      return true;
  }
}

int l_next(lua_State *L) {
  Reader *rd = check_reader(L);
  void *reply = nullptr;
  if (redisReaderGetReply(rd->r, &reply) != REDIS_OK) {
    lua_pushnil(L);
    lua_pushstring(L, rd->r->errstr);
    return 2;
  }
  if (reply == nullptr) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushboolean(L, 1);
  lua_pushnil(L);  // ok, set below
  bool ok = push_reply(L, static_cast<redisReply *>(reply));
  freeReplyObject(reply);
  lua_pushboolean(L, ok);
  lua_replace(L, -3);
  return 3;
}

}  // namespace

int open_silly_redis(lua_State *L) {
  const luaL_Reg methods[] = {{"feed", l_feed}, {"next", l_next}, {nullptr, nullptr}};
  if (luaL_newmetatable(L, kReaderMeta)) {
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  const luaL_Reg fns[] = {{"reader", l_reader}, {nullptr, nullptr}};
  luaL_newlib(L, fns);
  return 1;
}

}  // namespace silly
