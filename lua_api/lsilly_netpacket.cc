// silly.netpacket: the cluster framing as a Lua module, for scripts that
// move frames themselves over silly.net (the original framework's API).
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <unordered_map>

#include "silly/cluster/frame.h"
#include "silly/core/log.h"
#include "silly/lua_api/host.h"
#include "silly/lua_api/modules.h"
#include "silly/lua_api/payload.h"

namespace silly {

namespace {

constexpr char kContextMeta[] = "silly.netpacket.ctx";

struct Complete {
  lua_Integer fd;
  void *buf;  // malloc'd payload, owned by whoever pops it
  size_t size;
  uint32_t session;
  uint32_t cmd;
  uint64_t traceid;
  bool response;
};

// Per-fd reassembly rings and a FIFO of complete frames.
struct Context {
  std::unordered_map<lua_Integer, RingBuffer> partial;
  std::deque<Complete> ready;

  ~Context() {
    for (auto &c : ready) std::free(c.buf);
  }
};

Context *check_ctx(lua_State *L) {
  return *static_cast<Context **>(luaL_checkudata(L, 1, kContextMeta));
}

int l_ctx_gc(lua_State *L) {
  auto **slot = static_cast<Context **>(luaL_checkudata(L, 1, kContextMeta));
  std::unique_ptr<Context> owned(*slot);  // freed here
  *slot = nullptr;
  return 0;
}

int l_create(lua_State *L) {
  auto **slot = static_cast<Context **>(lua_newuserdatauv(L, sizeof(Context *), 0));
  *slot = nullptr;
  luaL_setmetatable(L, kContextMeta);
  *slot = std::make_unique<Context>().release();  // owned by the userdata's __gc
  return 1;
}

// push(ctx, fd, ptr, size): takes ownership of ptr.
int l_push(lua_State *L) {
  Context *ctx = check_ctx(L);
  lua_Integer fd = luaL_checkinteger(L, 2);
  luaL_checktype(L, 3, LUA_TLIGHTUSERDATA);
  void *ptr = lua_touserdata(L, 3);
  lua_Integer n = luaL_checkinteger(L, 4);
  RingBuffer &in = ctx->partial[fd];
  if (n > 0) in.append(ptr, static_cast<size_t>(n));
  std::free(ptr);
  for (;;) {
    cluster::Frame f;
    std::string error;
    cluster::ParseStatus st = cluster::parse_frame(in, &f, &error);
    if (st == cluster::ParseStatus::kNeedMore) break;
    if (st == cluster::ParseStatus::kMalformed) {
      log_line(LogLevel::kError, "[netpacket] fd %lld: malformed frame dropped with its stream: %s",
               static_cast<long long>(fd), error.c_str());
      in.clear();
      break;
    }
    void *copy = std::malloc(f.size > 0 ? f.size : 1);
    if (copy == nullptr) return luaL_error(L, "netpacket.push: out of memory");
    std::memcpy(copy, f.payload, f.size);
    ctx->ready.push_back({fd, copy, f.size, f.session, f.cmd, f.traceid, f.response});
    in.consume(f.wire_size);
  }
  if (in.empty()) ctx->partial.erase(fd);
  return 0;
}

// pop(ctx) -> fd, buf, size, session, cmd|nil, traceid
int l_pop(lua_State *L) {
  Context *ctx = check_ctx(L);
  if (ctx->ready.empty()) return 0;
  Complete c = ctx->ready.front();
  ctx->ready.pop_front();
  lua_pushinteger(L, c.fd);
  lua_pushlightuserdata(L, c.buf);
  lua_pushinteger(L, static_cast<lua_Integer>(c.size));
  lua_pushinteger(L, c.session);
  if (c.response) {
    lua_pushnil(L);
    lua_pushinteger(L, 0);
  } else {
    lua_pushinteger(L, c.cmd);
    lua_pushinteger(L, static_cast<lua_Integer>(c.traceid));
  }
  return 6;
}

int l_clear(lua_State *L) {
  Context *ctx = check_ctx(L);
  ctx->partial.erase(luaL_checkinteger(L, 2));
  return 0;
}

// Returns a malloc'd copy of the frame in `rb` as (ptr, size).
int push_frame(lua_State *L, RingBuffer &rb) {
  size_t n = rb.size();
  void *out = std::malloc(n);
  if (out == nullptr) return luaL_error(L, "netpacket: out of memory");
  rb.peek(out, n);
  lua_pushlightuserdata(L, out);
  lua_pushinteger(L, static_cast<lua_Integer>(n));
  return 2;
}

// request(cmd, traceid, data [, size]) -> session, ptr, size | nil, err
int l_request(lua_State *L) {
  auto cmd = static_cast<uint32_t>(luaL_checkinteger(L, 1));
  auto trace = static_cast<uint64_t>(luaL_checkinteger(L, 2));
  const void *data;
  size_t size;
  if (read_payload(L, 3, "netpacket.request", &data, &size) == 0)
    return luaL_error(L, "netpacket.request: string or lightuserdata expected");
  if (size > cluster::kMaxRequestPayload) return push_too_large(L, size, cluster::kMaxRequestPayload);
  uint32_t session = cluster_next_session(L);
  RingBuffer rb(cluster::kLengthSize + size + cluster::kRequestTrailer);
  cluster::append_request(rb, session, cmd, trace, data, size);
  lua_pushinteger(L, session);
  push_frame(L, rb);
  return 3;
}

// response(session, data [, size]) -> ptr, size | nil, err
int l_response(lua_State *L) {
  auto session = static_cast<uint32_t>(luaL_checkinteger(L, 1));
  const void *data;
  size_t size;
  if (read_payload(L, 2, "netpacket.response", &data, &size) == 0)
    return luaL_error(L, "netpacket.response: string or lightuserdata expected");
  if (size > cluster::kMaxResponsePayload) return push_too_large(L, size, cluster::kMaxResponsePayload);
  RingBuffer rb(cluster::kLengthSize + size + cluster::kResponseTrailer);
  cluster::append_response(rb, session, data, size);
  return push_frame(L, rb);
}

int l_drop(lua_State *L) {
  if (lua_type(L, 1) != LUA_TLIGHTUSERDATA) return luaL_error(L, "netpacket.drop can only drop lightuserdata");
  std::free(lua_touserdata(L, 1));
  return 0;
}

int l_tostring(lua_State *L) {
  luaL_checktype(L, 1, LUA_TLIGHTUSERDATA);
  void *p = lua_touserdata(L, 1);
  lua_Integer n = luaL_checkinteger(L, 2);
  lua_pushlstring(L, static_cast<const char *>(p), n > 0 ? static_cast<size_t>(n) : 0);
  std::free(p);
  return 1;
}

}  // namespace

int open_silly_netpacket(lua_State *L) {
  if (luaL_newmetatable(L, kContextMeta)) {
    lua_pushcfunction(L, l_ctx_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  const luaL_Reg fns[] = {
      {"create", l_create},     {"push", l_push}, {"pop", l_pop},           {"clear", l_clear}, {"request", l_request},
      {"response", l_response}, {"drop", l_drop}, {"tostring", l_tostring}, {nullptr, nullptr},
  };
  luaL_newlib(L, fns);
  return 1;
}

}  // namespace silly
