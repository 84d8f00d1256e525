// silly.redis.c: RESP replies (the Redis protocol) parsed by hiredis's
// reader, into reply objects of ours, for silly.store.redis; the Lua side
// does the I/O.
//
// reader() -> r; r:feed(s) appends received bytes.
// r:next() -> true, ok, value: the next whole reply, where ok is false for
//   an error reply and value is its Lua form (status and bulk strings as
//   strings, integers as integers, nil for a null, arrays as tables whose
//   ok is false when any element is an error, as the original framework's);
//   false when more bytes are needed; nil and the reason on a protocol error.
#include <hiredis/hiredis.h>

#include <lua.hpp>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "silly/lua_api/batteries.h"

namespace silly {

namespace {

constexpr const char *kReaderMeta = "silly.redis.reader";

// A reply as hiredis's reader builds it through our functions. Not its
// own redisReply: hiredis 0.14 allocates an array's element table from the
// count a server announces ("*999999999"), before any element arrived,
// and aborts the process when that fails. Ours grows with what arrives.
struct Node {
  int type = REDIS_REPLY_NIL;
  long long integer = 0;
  std::string str;
  std::vector<std::unique_ptr<Node>> elements;
};

// Links `node` into its parent array, which owns it; the root is owned by
// the reader until l_next takes it (free_node when the reader goes first).
void *place(const redisReadTask *task, std::unique_ptr<Node> node) {
  Node *raw = node.get();
  if (task->parent != nullptr) {
    auto &siblings = static_cast<Node *>(task->parent->obj)->elements;
    if (static_cast<size_t>(task->idx) >= siblings.size()) siblings.resize(static_cast<size_t>(task->idx) + 1);
    siblings[static_cast<size_t>(task->idx)] = std::move(node);
  } else {
    node.release();  // the root: hiredis hands it back from redisReaderGetReply
  }
  return raw;
}

void *create_string(const redisReadTask *task, char *str, size_t len) {
  auto node = std::make_unique<Node>();
  node->type = task->type;
  node->str.assign(str, len);
  return place(task, std::move(node));
}

void *create_array(const redisReadTask *task, int elements) {
  auto node = std::make_unique<Node>();
  node->type = REDIS_REPLY_ARRAY;
  node->elements.reserve(elements < 1024 ? static_cast<size_t>(elements) : 1024);
  return place(task, std::move(node));
}

void *create_integer(const redisReadTask *task, long long value) {
  auto node = std::make_unique<Node>();
  node->type = REDIS_REPLY_INTEGER;
  node->integer = value;
  return place(task, std::move(node));
}

void *create_nil(const redisReadTask *task) {
  return place(task, std::make_unique<Node>());
}

void free_node(void *root) {
  std::unique_ptr<Node>(static_cast<Node *>(root));
}

redisReplyObjectFunctions g_node_functions = {create_string, create_array, create_integer, create_nil, free_node};

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
  rd->r = redisReaderCreateWithFunctions(&g_node_functions);
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

// Pushes the Lua form of `node`; returns whether it (and every element
// of an array) was a success.
bool push_reply(lua_State *L, const Node *node) {
  luaL_checkstack(L, 3, "redis: reply nested too deep");
  if (node == nullptr) {  // an element hiredis never filled
    lua_pushnil(L);
    return true;
  }
  switch (node->type) {
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_STRING: lua_pushlstring(L, node->str.data(), node->str.size()); return true;
    case REDIS_REPLY_ERROR: lua_pushlstring(L, node->str.data(), node->str.size()); return false;
    case REDIS_REPLY_INTEGER: lua_pushinteger(L, static_cast<lua_Integer>(node->integer)); return true;
    case REDIS_REPLY_ARRAY: {
      bool ok = true;
      lua_createtable(L, static_cast<int>(node->elements.size()), 0);
      for (size_t i = 0; i < node->elements.size(); i++) {
        ok = push_reply(L, node->elements[i].get()) && ok;
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
  bool ok = push_reply(L, static_cast<Node *>(reply));
  free_node(reply);
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
