// silly.cluster.c: silly.net.cluster's way to its links.
//
// The links themselves are cluster::Link objects (cluster/link.h); this
// binding is their sink and converts, nothing more. Each event enters Lua
// once, through the scheduler's dispatch: a read batch as on_batch(fd, n, b,
// t, d) with the frames laid out seven slots each in one reused table `b`,
// t the batch's arrival in µs (monotonic) and d whether the link carries
// deadlines (the seventh slot of a request is written only then)
// (request: 1, session, cmd, traceid, ptr, size, deadline ms since the
// epoch or 0; response: 2, session, remote error text | false, 0, ptr,
// size, unused). A payload is a lightuserdata
// into the link's receive ring, valid during that call only, which is why
// silly.net.cluster unmarshals there and not later in a task.
#include <cerrno>
#include <memory>
#include <string>

#include "silly/cluster/link_table.h"
#include "silly/core/log.h"
#include "silly/lua_api/host.h"
#include "silly/lua_api/modules.h"
#include "silly/lua_api/payload.h"

namespace silly {

namespace {

constexpr char kPartName[] = "silly.cluster.c";
constexpr int kSlotsPerFrame = 7;

enum Callback { kOnBatch, kOnTimeout, kOnClose, kOnAccept, kOnConnect, kCallbacks };

class ClusterBinding : public HostPart, public cluster::LinkSink {
 public:
  explicit ClusterBinding(LuaHost &host) : host_(host), links_(host.loop(), host.sockets(), *this) {
    for (int &ref : refs_) ref = LUA_NOREF;
  }
  ~ClusterBinding() override = default;

  cluster::LinkTable &links() { return links_; }
  void set_callbacks(lua_State *L) {
    for (int i = kCallbacks - 1; i >= 0; i--) refs_[i] = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_createtable(L, kSlotsPerFrame * static_cast<int>(cluster::Link::kFlushEvery), 0);
    batch_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  }

  void on_accept(SocketId listener, cluster::Link &link, const std::string &peer) override {
    if (!host_.begin(refs_[kOnAccept])) return;
    lua_State *L = host_.L();
    lua_pushinteger(L, listener);
    lua_pushinteger(L, link.id());
    lua_pushlstring(L, peer.data(), peer.size());
    host_.call(3);
  }

  void on_connect(SocketId id, int status) override {
    if (!host_.begin(refs_[kOnConnect])) return;
    lua_pushinteger(host_.L(), id);
    lua_pushinteger(host_.L(), status);
    host_.call(2);
  }

  void on_frames(cluster::Link &link, const cluster::Frame *frames, size_t n) override {
    if (!host_.begin(refs_[kOnBatch])) return;
    lua_State *L = host_.L();
    lua_pushinteger(L, link.id());
    lua_pushinteger(L, static_cast<lua_Integer>(n));
    lua_rawgeti(L, LUA_REGISTRYINDEX, batch_ref_);
    lua_Integer slot = 1;
    // Deadlines only come on links that agreed to them: on_batch reads the
    // slot only then (its 5th argument), and others skip the write.
    bool deadlines = (link.agreed() & cluster::kFeatureDeadline) != 0;
    for (size_t i = 0; i < n; i++) {
      const cluster::Frame &f = frames[i];
      lua_pushinteger(L, f.response ? 2 : 1);
      lua_rawseti(L, -2, slot++);
      lua_pushinteger(L, f.session);
      lua_rawseti(L, -2, slot++);
      if (!f.response) {
        lua_pushinteger(L, f.cmd);
      } else if (f.remote_error) {
        lua_pushlstring(L, reinterpret_cast<const char *>(f.payload), f.size);
      } else {
        lua_pushboolean(L, 0);
      }
      lua_rawseti(L, -2, slot++);
      lua_pushinteger(L, static_cast<lua_Integer>(f.traceid));
      lua_rawseti(L, -2, slot++);
      lua_pushlightuserdata(L, const_cast<uint8_t *>(f.payload));
      lua_rawseti(L, -2, slot++);
      lua_pushinteger(L, static_cast<lua_Integer>(f.size));
      lua_rawseti(L, -2, slot++);
      if (deadlines && !f.response) {
        lua_pushinteger(L, static_cast<lua_Integer>(f.deadline_ms));
        lua_rawseti(L, -2, slot);
      }
      slot++;
    }
    lua_pushinteger(L, static_cast<lua_Integer>(link.last_heard_us()));
    lua_pushboolean(L, deadlines);
    host_.call(5);
  }

  void on_timeout(cluster::Link &, uint32_t session) override {
    if (!host_.begin(refs_[kOnTimeout])) return;
    lua_pushinteger(host_.L(), session);
    host_.call(1);
  }

  void on_close(cluster::Link &link, int status, const std::vector<uint32_t> &failed) override {
    if (status == kErrTls) {
      // Scripts see an errno; the log keeps OpenSSL's reason.
      log_line(LogLevel::kWarn, "[cluster] link %lld: TLS failure: %s", static_cast<long long>(link.id()),
               host_.sockets().last_failure().c_str());
      status = -EPROTO;
    }
    if (!host_.begin(refs_[kOnClose])) return;
    lua_State *L = host_.L();
    lua_pushinteger(L, link.id());
    lua_pushinteger(L, status);
    push_sessions(L, failed);
    host_.call(3);
  }

  static void push_sessions(lua_State *L, const std::vector<uint32_t> &sessions) {
    lua_createtable(L, static_cast<int>(sessions.size()), 0);
    for (size_t i = 0; i < sessions.size(); i++) {
      lua_pushinteger(L, sessions[i]);
      lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
    }
  }

 private:
  LuaHost &host_;
  cluster::LinkTable links_;
  int refs_[kCallbacks];
  int batch_ref_ = LUA_NOREF;
};

ClusterBinding &binding(lua_State *L) {
  return *static_cast<ClusterBinding *>(lua_touserdata(L, lua_upvalueindex(1)));
}

cluster::Link *check_link(lua_State *L, int idx) {
  return binding(L).links().find(luaL_checkinteger(L, idx));
}

// nil, and what the error means to a caller: a link that is gone (or
// going) is "closed"; anything else, such as a full send queue, as it is.
int push_failure(lua_State *L, int64_t rc) {
  bool gone = rc == kErrUnknownSocket || rc == kErrBroken || rc == kErrClosing;
  lua_pushnil(L);
  lua_pushstring(L, gone ? "closed" : socket_strerror(static_cast<int>(rc)));
  return 2;
}

int push_ok(lua_State *L, int rc) {
  if (rc != 0) return push_failure(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

// dispatch(on_batch, on_timeout, on_close, on_accept, on_connect)
int l_dispatch(lua_State *L) {
  for (int i = 1; i <= kCallbacks; i++) luaL_checktype(L, i, LUA_TFUNCTION);
  lua_settop(L, kCallbacks);
  binding(L).set_callbacks(L);
  return 0;
}

// The link options from idx on: heartbeat ms, keepalive seconds (0: off),
// largest payload taken, secret (nil: none), handshake ms, frame timeout
// ms (0: off), deadlines (false: off); and checks the TLS context that
// follows them.
cluster::LinkOptions check_options(lua_State *L, int idx) {
  cluster::LinkOptions o;
  o.heartbeat_ms = static_cast<int>(luaL_optinteger(L, idx, 0));
  o.keepalive_s = static_cast<int>(luaL_optinteger(L, idx + 1, 0));
  lua_Integer max = luaL_optinteger(L, idx + 2, static_cast<lua_Integer>(cluster::kMaxRequestPayload));
  luaL_argcheck(L, max > 0 && max <= 0x7fffffff, idx + 2, "maxpayload out of range");
  o.max_payload = static_cast<size_t>(max);
  o.handshake_ms = static_cast<int>(luaL_optinteger(L, idx + 4, o.handshake_ms));
  o.frame_timeout_ms = static_cast<int>(luaL_optinteger(L, idx + 5, o.frame_timeout_ms));
  o.deadline = lua_isnoneornil(L, idx + 6) || lua_toboolean(L, idx + 6);
  size_t n = 0;
  const char *secret = luaL_optlstring(L, idx + 3, nullptr, &n);
  check_tls_context(L, idx + 7);
  // Nothing raises past this point: Lua errors would skip the destructors.
  if (secret != nullptr) o.secret = std::make_shared<const std::string>(secret, n);
  return o;
}

// listen(addr, backlog, heartbeat, keepalive, maxpayload, secret, handshake,
// frame timeout, deadlines, tls context) -> fd | nil, err
int l_listen(lua_State *L) {
  SockAddr addr;
  if (!check_address(L, 1, true, &addr)) return 2;
  int backlog = static_cast<int>(luaL_optinteger(L, 2, 128));
  cluster::LinkOptions options = check_options(L, 3);  // the last that may raise
  return push_id(L, binding(L).links().listen(addr, backlog, options, opt_tls_context(L, 10)));
}

// connect(addr, timeout_ms, heartbeat, keepalive, maxpayload, secret,
// handshake, frame timeout, deadlines, tls context, require ack) -> fd |
// nil, err; on_connect(fd, status) follows.
int l_connect(lua_State *L) {
  SockAddr addr;
  if (!check_address(L, 1, false, &addr)) return 2;
  int timeout = static_cast<int>(luaL_checkinteger(L, 2));
  cluster::LinkOptions options = check_options(L, 3);  // the last that may raise
  options.require_ack = lua_toboolean(L, 11) != 0;
  return push_id(L, binding(L).links().connect(addr, timeout, options, opt_tls_context(L, 10)));
}

// close(fd) -> {sessions that were pending} for a link; true for a
// listener or a connect in progress; nil when fd is none of these.
int l_close(lua_State *L) {
  SocketId fd = luaL_checkinteger(L, 1);
  if (binding(L).links().find(fd) != nullptr) {
    ClusterBinding::push_sessions(L, binding(L).links().close(fd));
    return 1;
  }
  if (binding(L).links().close_socket(fd) != 0) return 0;
  lua_pushboolean(L, 1);
  return 1;
}

// The (fd, cmd, traceid, data [, size]) that request and send share.
struct RequestArgs {
  cluster::Link *link;
  uint32_t cmd;
  uint64_t trace;
  const void *data;
  size_t size;
  int next;  // index of the argument after them
};

// Reads them; false (with nil, reason pushed) for a payload too large.
bool read_request(lua_State *L, const char *fname, RequestArgs *a) {
  a->link = check_link(L, 1);
  a->cmd = static_cast<uint32_t>(luaL_checkinteger(L, 2));
  a->trace = static_cast<uint64_t>(luaL_checkinteger(L, 3));
  if (a->trace == 0) a->trace = new_trace_id();  // a task without a trace: one per call
  int taken = read_payload(L, 4, fname, &a->data, &a->size);
  if (taken == 0) luaL_error(L, "%s: marshal returned no data", fname);
  a->next = 4 + taken;
  size_t limit = a->link != nullptr ? a->link->limit(false) : cluster::kMaxRequestPayload;
  if (a->size <= limit) return true;
  push_too_large(L, a->size, limit);
  return false;
}

// request(fd, cmd, traceid, data [, size], timeout_ms) -> session | nil, err
// (traceid 0: a new one)
int l_request(lua_State *L) {
  RequestArgs a;
  if (!read_request(L, "cluster.call", &a)) return 2;
  int timeout = static_cast<int>(luaL_checkinteger(L, a.next));
  if (a.link == nullptr) return push_failure(L, kErrUnknownSocket);
  int64_t session = a.link->call(a.cmd, a.trace, a.data, a.size, timeout);
  if (session < 0) return push_failure(L, session);
  lua_pushinteger(L, session);
  return 1;
}

// send(fd, cmd, traceid, data [, size]) -> true | nil, err
int l_send(lua_State *L) {
  RequestArgs a;
  if (!read_request(L, "cluster.send", &a)) return 2;
  if (a.link == nullptr) return push_failure(L, kErrUnknownSocket);
  return push_ok(L, a.link->send(a.cmd, a.trace, a.data, a.size));
}

// response(fd, session, data [, size]) -> true | nil, err
int l_response(lua_State *L) {
  cluster::Link *link = check_link(L, 1);
  auto session = static_cast<uint32_t>(luaL_checkinteger(L, 2));
  const void *data;
  size_t size;
  if (read_payload(L, 3, "cluster.response", &data, &size) == 0) {
    return luaL_error(L, "cluster: marshal returned no data for a response");
  }
  if (link == nullptr) return push_failure(L, kErrUnknownSocket);
  if (size > link->limit(true)) return push_too_large(L, size, link->limit(true));
  return push_ok(L, link->respond(session, data, size));
}

// error(fd, session, message): tells the caller its call failed here.
int l_error(lua_State *L) {
  cluster::Link *link = check_link(L, 1);
  auto session = static_cast<uint32_t>(luaL_checkinteger(L, 2));
  size_t n;
  const char *msg = luaL_checklstring(L, 3, &n);
  if (link != nullptr) link->respond_error(session, msg, n);
  return 0;
}

// stats() -> pending calls, dropped responses, requests not started
int l_stats(lua_State *L) {
  cluster::SessionTable &sessions = binding(L).links().sessions();
  lua_pushinteger(L, static_cast<lua_Integer>(sessions.pending_count()));
  lua_pushinteger(L, static_cast<lua_Integer>(sessions.dropped_responses()));
  lua_pushinteger(L, static_cast<lua_Integer>(binding(L).links().expired()));
  return 3;
}

// linkstats(fd) -> {pending, timeouts, pings_sent, pings_missed, bytes_in,
// bytes_out, features, idle_ms, late, calls, remote_errors, expired} | nil
int l_linkstats(lua_State *L) {
  cluster::Link *link = check_link(L, 1);
  if (link == nullptr) return 0;
  const cluster::Link::Stats &st = link->stats();
  const struct {
    const char *name;
    uint64_t value;
  } fields[] = {
      {"pending", link->pending()},
      {"timeouts", st.timeouts},
      {"pings_sent", st.pings_sent},
      {"pings_missed", st.pings_missed},
      {"bytes_in", st.bytes_in},
      {"bytes_out", st.bytes_out},
      {"features", link->agreed()},
      {"idle_ms", static_cast<uint64_t>(link->idle_ms())},
      {"late", st.late},
      {"calls", st.calls},
      {"remote_errors", st.remote_errors},
      {"expired", st.expired},
  };
  lua_createtable(L, 0, static_cast<int>(sizeof(fields) / sizeof(fields[0])));
  for (const auto &f : fields) {
    lua_pushinteger(L, static_cast<lua_Integer>(f.value));
    lua_setfield(L, -2, f.name);
  }
  return 1;
}

// observe(): links keep time histograms from now on (metrics).
int l_observe(lua_State *L) {
  binding(L).links().set_observing(true);
  return 0;
}

// handled(fd, start_us): a request that arrived at start_us was handled.
int l_handled(lua_State *L) {
  cluster::Link *link = check_link(L, 1);
  if (link != nullptr) link->handled(luaL_checkinteger(L, 2));
  return 0;
}

void push_histogram(lua_State *L, const cluster::LatencyHistogram &h) {
  lua_createtable(L, static_cast<int>(cluster::kLatencyBounds + 1), 2);
  for (size_t i = 0; i <= cluster::kLatencyBounds; i++) {
    lua_pushinteger(L, static_cast<lua_Integer>(h.counts[i]));
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
  lua_pushinteger(L, static_cast<lua_Integer>(h.count));
  lua_setfield(L, -2, "count");
  lua_pushinteger(L, static_cast<lua_Integer>(h.sum_us));
  lua_setfield(L, -2, "sum_us");
}

// linktimes(fd) -> calls, handled: each {bucket counts..., count=, sum_us=}
// (not cumulative, bounds LATENCY_BOUNDS_US); nothing before observe().
int l_linktimes(lua_State *L) {
  cluster::Link *link = check_link(L, 1);
  if (link == nullptr || link->times() == nullptr) return 0;
  push_histogram(L, link->times()->calls);
  push_histogram(L, link->times()->handled);
  return 2;
}

ClusterBinding &ensure_binding(lua_State *L) {
  LuaHost *host = LuaHost::from(L);
  HostPart *part = host->part(kPartName);
  if (part == nullptr) part = host->attach(kPartName, std::make_unique<ClusterBinding>(*host));
  return *static_cast<ClusterBinding *>(part);
}

}  // namespace

uint32_t cluster_next_session(lua_State *L) {
  return ensure_binding(L).links().sessions().next_unregistered();
}

int open_silly_cluster(lua_State *L) {
  ClusterBinding &b = ensure_binding(L);
  const luaL_Reg fns[] = {
      {"dispatch", l_dispatch},   {"listen", l_listen},       {"connect", l_connect},   {"close", l_close},
      {"request", l_request},     {"send", l_send},           {"response", l_response}, {"error", l_error},
      {"stats", l_stats},         {"linkstats", l_linkstats}, {"observe", l_observe},   {"handled", l_handled},
      {"linktimes", l_linktimes}, {nullptr, nullptr},
  };
  luaL_newlibtable(L, fns);
  lua_pushlightuserdata(L, &b);
  luaL_setfuncs(L, fns, 1);
  lua_pushinteger(L, static_cast<lua_Integer>(cluster::kMaxRequestPayload));
  lua_setfield(L, -2, "MAX_REQUEST");
  lua_pushinteger(L, static_cast<lua_Integer>(cluster::kMaxResponsePayload));
  lua_setfield(L, -2, "MAX_RESPONSE");
  lua_createtable(L, static_cast<int>(cluster::kLatencyBounds), 0);
  for (size_t i = 0; i < cluster::kLatencyBounds; i++) {
    lua_pushinteger(L, cluster::kLatencyBoundsUs[i]);
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
  lua_setfield(L, -2, "LATENCY_BOUNDS_US");
  return 1;
}

}  // namespace silly
