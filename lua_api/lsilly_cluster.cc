// silly.cluster.c: frames and sessions for silly.net.cluster.
//
// Bytes of cluster sockets never reach Lua as such: this binding parses
// them out of the socket's receive ring and calls three registered Lua
// functions, one per frame, with the payload as (lightuserdata, size)
// pointing into the ring. The pointer is valid during that call only,
// which is why silly.net.cluster unmarshals there and not in a task.
#include <cstring>
#include <memory>
#include <string>

#include "cluster/frame.h"
#include "cluster/session.h"
#include "core/log.h"
#include "lua_api/host.h"
#include "lua_api/modules.h"
#include "lua_api/payload.h"

namespace silly {

namespace {

// A response payload that starts with this tells the caller the handler
// failed; the text after it is the reason. Peers running the original
// framework see an undecodable payload, which also fails their call.
constexpr char kRemoteError[] = "\0silly:error\0";
constexpr size_t kRemoteErrorLen = sizeof(kRemoteError) - 1;

class ClusterBinding : public ModeConsumer, public cluster::DeadlineScheduler {
 public:
  explicit ClusterBinding(LuaHost &host) : host_(host), sessions_(*this) {}

  cluster::SessionTable &sessions() { return sessions_; }
  void set_callbacks(int link, int timeout, int drain) {
    link_ref_ = link;
    timeout_ref_ = timeout;
    drain_ref_ = drain;
  }

  uint64_t schedule(int timeout_ms, uint32_t session) override {
    uint64_t cookie = (static_cast<uint64_t>(kModeCluster) << kTimerTagShift) | session;
    return host_.loop().add_timer(timeout_ms, cookie);
  }
  void cancel(uint64_t handle) override { host_.loop().cancel_timer(handle); }

  void on_timer(uint64_t payload) override {
    auto session = static_cast<uint32_t>(payload);
    if (!sessions_.expire(session) || timeout_ref_ == LUA_NOREF) return;
    lua_State *L = host_.L();
    lua_rawgeti(L, LUA_REGISTRYINDEX, timeout_ref_);
    lua_pushinteger(L, session);
    call(L, 1);
    drain(L);
  }

  // One call into Lua per read: the Lua side pulls the frames with next()
  // and the tasks they woke run after the batch.
  void on_data(SocketId id, RingBuffer &in) override {
    if (link_ref_ == LUA_NOREF) return;
    lua_State *L = host_.L();
    batch_id_ = id;
    batch_in_ = &in;
    consumed_ = 0;
    batch_frames_ = 0;
    lua_rawgeti(L, LUA_REGISTRYINDEX, link_ref_);
    lua_pushinteger(L, id);
    call(L, 1);
    if (batch_valid()) in.consume(consumed_);
    batch_id_ = 0;
    batch_in_ = nullptr;
    drain(L);
  }

  // next(fd): the next frame of the batch being handled, pushed as
  //   1, session, cmd, traceid, ptr, size        a request
  //   2, session, ptr|nil, size, remote_error    a response to a pending call
  //   3, reason                                  a malformed frame
  // or nothing. The previous frame's payload is released first, so each
  // pointer is valid until the next call.
  int next(lua_State *L, SocketId id) {
    if (id != batch_id_ || !batch_valid()) return 0;
    // In a long batch, what the handlers wrote so far leaves now, so the
    // peer works on it while this side handles the rest. A write that fails
    // closes its link, perhaps this one: look again before reading on.
    if (++batch_frames_ % kFlushEvery == 0) {
      host_.sockets().flush_writes();
      if (!batch_valid()) return 0;
    }
    RingBuffer &in = *batch_in_;
    for (;;) {
      in.consume(consumed_);
      consumed_ = 0;
      cluster::Frame f;
      std::string error;
      cluster::ParseStatus st = cluster::parse_frame(in, &f, &error);
      if (st == cluster::ParseStatus::kNeedMore) return 0;
      if (st == cluster::ParseStatus::kMalformed) {
        log_line(LogLevel::kError, "[cluster] link %lld: malformed frame, closing it: %s", static_cast<long long>(id),
                 error.c_str());
        in.clear();
        lua_pushinteger(L, 3);
        lua_pushlstring(L, error.data(), error.size());
        return 2;
      }
      consumed_ = f.wire_size;
      if (!f.response) {
        lua_pushinteger(L, 1);
        lua_pushinteger(L, f.session);
        lua_pushinteger(L, f.cmd);
        lua_pushinteger(L, static_cast<lua_Integer>(f.traceid));
        lua_pushlightuserdata(L, const_cast<uint8_t *>(f.payload));
        lua_pushinteger(L, static_cast<lua_Integer>(f.size));
        return 6;
      }
      // Late responses (timed out, or to a one-way send) are dropped here.
      if (!sessions_.finish(f.session)) continue;
      lua_pushinteger(L, 2);
      lua_pushinteger(L, f.session);
      if (f.size >= kRemoteErrorLen && std::memcmp(f.payload, kRemoteError, kRemoteErrorLen) == 0) {
        lua_pushnil(L);
        lua_pushinteger(L, 0);
        lua_pushlstring(L, reinterpret_cast<const char *>(f.payload) + kRemoteErrorLen, f.size - kRemoteErrorLen);
        return 5;
      }
      lua_pushlightuserdata(L, const_cast<uint8_t *>(f.payload));
      lua_pushinteger(L, static_cast<lua_Integer>(f.size));
      return 4;
    }
  }

 private:
  // The script may close the link while handling a frame.
  bool batch_valid() {
    return batch_in_ != nullptr && host_.sockets().input(batch_id_) == batch_in_ &&
           host_.sockets().alive(batch_id_) == 1;
  }

  void drain(lua_State *L) {
    if (drain_ref_ == LUA_NOREF) return;
    lua_rawgeti(L, LUA_REGISTRYINDEX, drain_ref_);
    call(L, 0);
  }

  void call(lua_State *L, int nargs) {
    if (lua_pcall(L, nargs, 0, 0) != LUA_OK) {
      log_line(LogLevel::kError, "[cluster] dispatch: %s", lua_tostring(L, -1));
      lua_pop(L, 1);
    }
  }

  LuaHost &host_;
  cluster::SessionTable sessions_;
  int link_ref_ = LUA_NOREF;
  int timeout_ref_ = LUA_NOREF;
  int drain_ref_ = LUA_NOREF;
  SocketId batch_id_ = 0;
  RingBuffer *batch_in_ = nullptr;
  size_t consumed_ = 0;
  unsigned batch_frames_ = 0;
  static constexpr unsigned kFlushEvery = 32;
};

ClusterBinding &binding(lua_State *L) {
  return *static_cast<ClusterBinding *>(LuaHost::from(L)->consumer(kModeCluster));
}

int push_fail(lua_State *L, const char *msg) {
  lua_pushnil(L);
  lua_pushstring(L, msg);
  return 2;
}

int send_frame(lua_State *L, SocketId fd, const cluster::FrameParts &parts, const void *data, size_t size) {
  struct iovec iov[3] = {
      {const_cast<uint8_t *>(parts.head), cluster::kLengthSize},
      {const_cast<void *>(data), size},
      {const_cast<uint8_t *>(parts.tail), parts.tail_size},
  };
  return LuaHost::from(L)->sockets().sendv(fd, iov, 3);
}

// The link is gone (or going) for the caller: "closed"; anything else,
// such as a full send queue, is said as it is.
int push_send_error(lua_State *L, int rc) {
  bool gone = rc == kErrUnknownSocket || rc == kErrBroken || rc == kErrClosing;
  return push_fail(L, gone ? "closed" : socket_strerror(rc));
}

// dispatch(on_link, on_timeout, drain): on_link(fd) runs once per read
// and pulls the frames with next(fd).
int l_dispatch(lua_State *L) {
  for (int i = 1; i <= 3; i++) luaL_checktype(L, i, LUA_TFUNCTION);
  lua_settop(L, 3);
  int drain = luaL_ref(L, LUA_REGISTRYINDEX);
  int timeout = luaL_ref(L, LUA_REGISTRYINDEX);
  int link = luaL_ref(L, LUA_REGISTRYINDEX);
  binding(L).set_callbacks(link, timeout, drain);
  return 0;
}

int l_next(lua_State *L) {
  return binding(L).next(L, luaL_checkinteger(L, 1));
}

// The (fd, cmd, traceid, data [, size]) that request and send share.
struct RequestArgs {
  SocketId fd;
  uint32_t cmd;
  uint64_t trace;
  const void *data;
  size_t size;
  int next;  // index of the argument after them
};

// Reads them; false (with nil, reason pushed) for a payload too large.
bool read_request(lua_State *L, const char *fname, RequestArgs *a) {
  a->fd = luaL_checkinteger(L, 1);
  a->cmd = static_cast<uint32_t>(luaL_checkinteger(L, 2));
  a->trace = static_cast<uint64_t>(luaL_checkinteger(L, 3));
  if (!read_payload(L, 4, &a->data, &a->size)) luaL_error(L, "%s: marshal returned no data", fname);
  a->next = lua_type(L, 4) == LUA_TSTRING ? 5 : 6;
  if (a->size <= cluster::kMaxRequestPayload) return true;
  push_too_large(L, a->size, cluster::kMaxRequestPayload);
  return false;
}

int queue_request(lua_State *L, const RequestArgs &a, uint32_t session) {
  cluster::FrameParts parts;
  cluster::make_request(session, a.cmd, a.trace, a.size, &parts);
  return send_frame(L, a.fd, parts, a.data, a.size);
}

// request(fd, cmd, traceid, data [, size], timeout_ms) -> session | nil, err
int l_request(lua_State *L) {
  RequestArgs a;
  if (!read_request(L, "cluster.call", &a)) return 2;
  int timeout = static_cast<int>(luaL_checkinteger(L, a.next));
  ClusterBinding &b = binding(L);
  uint32_t session = b.sessions().open(a.fd, timeout);
  int rc = queue_request(L, a, session);
  if (rc != 0) {
    // Refused (closed link, full queue): nothing may stay pending.
    b.sessions().finish(session);  // cancels its deadline too
    return push_send_error(L, rc);
  }
  lua_pushinteger(L, session);
  return 1;
}

// send(fd, cmd, traceid, data [, size]) -> true | nil, err
int l_send(lua_State *L) {
  RequestArgs a;
  if (!read_request(L, "cluster.send", &a)) return 2;
  int rc = queue_request(L, a, binding(L).sessions().next_unregistered());
  if (rc != 0) return push_send_error(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

// response(fd, session, data [, size]) -> true | nil, err
int l_response(lua_State *L) {
  SocketId fd = luaL_checkinteger(L, 1);
  auto session = static_cast<uint32_t>(luaL_checkinteger(L, 2));
  const void *data;
  size_t size;
  if (!read_payload(L, 3, &data, &size)) return luaL_error(L, "cluster: marshal returned no data for a response");
  if (size > cluster::kMaxResponsePayload) return push_too_large(L, size, cluster::kMaxResponsePayload);
  cluster::FrameParts parts;
  cluster::make_response(session, size, &parts);
  int rc = send_frame(L, fd, parts, data, size);
  if (rc != 0) return push_send_error(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

// error(fd, session, message): tells the caller its call failed remotely.
int l_error(lua_State *L) {
  SocketId fd = luaL_checkinteger(L, 1);
  auto session = static_cast<uint32_t>(luaL_checkinteger(L, 2));
  size_t n;
  const char *msg = luaL_checklstring(L, 3, &n);
  std::string payload(kRemoteError, kRemoteErrorLen);
  payload.append(msg, n < 1024 ? n : 1024);
  cluster::FrameParts parts;
  cluster::make_response(session, payload.size(), &parts);
  send_frame(L, fd, parts, payload.data(), payload.size());
  return 0;
}

// faillink(fd) -> {sessions...} of the calls that were pending on fd
int l_faillink(lua_State *L) {
  SocketId fd = luaL_checkinteger(L, 1);
  std::vector<uint32_t> failed = binding(L).sessions().fail_link(fd);
  lua_createtable(L, static_cast<int>(failed.size()), 0);
  for (size_t i = 0; i < failed.size(); i++) {
    lua_pushinteger(L, failed[i]);
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
  return 1;
}

// stats() -> pending calls, dropped responses
int l_stats(lua_State *L) {
  ClusterBinding &b = binding(L);
  lua_pushinteger(L, static_cast<lua_Integer>(b.sessions().pending_count()));
  lua_pushinteger(L, static_cast<lua_Integer>(b.sessions().dropped_responses()));
  return 2;
}

void ensure_binding(lua_State *L) {
  LuaHost *host = LuaHost::from(L);
  if (host->consumer(kModeCluster) == nullptr) host->install(kModeCluster, std::make_unique<ClusterBinding>(*host));
}

}  // namespace

uint32_t cluster_next_session(lua_State *L) {
  ensure_binding(L);
  return binding(L).sessions().next_unregistered();
}

int open_silly_cluster(lua_State *L) {
  ensure_binding(L);
  const luaL_Reg fns[] = {
      {"dispatch", l_dispatch}, {"next", l_next},         {"request", l_request},
      {"send", l_send},         {"response", l_response}, {"error", l_error},
      {"faillink", l_faillink}, {"stats", l_stats},       {nullptr, nullptr},
  };
  luaL_newlib(L, fns);
  lua_pushinteger(L, static_cast<lua_Integer>(cluster::kMaxRequestPayload));
  lua_setfield(L, -2, "MAX_REQUEST");
  lua_pushinteger(L, static_cast<lua_Integer>(cluster::kMaxResponsePayload));
  lua_setfield(L, -2, "MAX_RESPONSE");
  return 1;
}

}  // namespace silly
