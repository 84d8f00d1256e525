// silly.net.c: sockets for silly.net, silly.net.tcp and silly.net.udp.
//
// Each of the three modules owns its sockets through one ScriptOwner here,
// which hands the socket's events to the function that module registered
// with onevent(). Ids, byte counts and status codes cross as integers; a
// status is 0 or a negative code that strerror() turns into a message.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "silly/lua_api/host.h"
#include "silly/lua_api/modules.h"

namespace silly {

namespace {

// The first argument of a module's event function.
enum ScriptEvent : int {
  kEvAccept = 1,   // conn, listener, "ip:port"
  kEvConnect = 2,  // id, status
  kEvData = 3,     // stream: id; raw: id, ptr, size; datagram: id, data, "ip:port"
  kEvClose = 4,    // id, status
};

// Who receives a socket's events, and how its bytes reach Lua.
enum OwnerKind : int {
  kOwnStream = 0,    // bytes stay in the receive ring; tasks read them (tcp)
  kOwnRaw = 1,       // bytes handed over as malloc'd (ptr, size) (silly.net)
  kOwnDatagram = 2,  // each datagram as a string with its sender (udp)
  kOwnerKinds = 3,
};

class ScriptOwner : public SocketOwner {
 public:
  ScriptOwner(LuaHost &host, OwnerKind kind) : host_(host), kind_(kind) {}
  void set_function(int ref) { ref_ = ref; }

  void on_accept(SocketId listener, SocketId conn, const std::string &peer) override {
    if (!begin(kEvAccept, conn)) return;
    lua_pushinteger(L(), listener);
    lua_pushlstring(L(), peer.data(), peer.size());
    host_.call(4);
  }
  void on_connect(SocketId id, int status) override {
    if (!begin(kEvConnect, id)) return;
    lua_pushinteger(L(), status);
    host_.call(3);
  }
  void on_data(SocketId id, RingBuffer &in) override {
    if (kind_ != kOwnRaw) {
      if (!begin(kEvData, id)) return;
      host_.call(2);
      return;
    }
    size_t n = in.size();
    void *buf = std::malloc(n);
    if (buf == nullptr) return;  // leave the bytes for the next edge
    if (!begin(kEvData, id)) {
      std::free(buf);
      return;
    }
    in.peek(buf, n);
    in.consume(n);
    lua_pushlightuserdata(L(), buf);
    lua_pushinteger(L(), static_cast<lua_Integer>(n));
    host_.call(4);
  }
  void on_datagram(SocketId id, const uint8_t *data, size_t n, const SockAddr &from) override {
    if (!begin(kEvData, id)) return;
    lua_pushlstring(L(), reinterpret_cast<const char *>(data), n);
    std::string addr = format_address(from.get());
    lua_pushlstring(L(), addr.data(), addr.size());
    host_.call(4);
  }
  void on_close(SocketId id, int status) override {
    if (!begin(kEvClose, id)) return;
    lua_pushinteger(L(), status);
    host_.call(3);
  }

 private:
  lua_State *L() { return host_.L(); }
  bool begin(int event, SocketId id) {
    if (!host_.begin(ref_)) return false;
    lua_pushinteger(L(), event);
    lua_pushinteger(L(), id);
    return true;
  }

  LuaHost &host_;
  OwnerKind kind_;
  int ref_ = LUA_NOREF;
};

// The three owners, kept by the host for its whole life.
struct ScriptOwners : HostPart {
  explicit ScriptOwners(LuaHost &host) : owners{{host, kOwnStream}, {host, kOwnRaw}, {host, kOwnDatagram}} {}
  ScriptOwner owners[kOwnerKinds];
};

constexpr char kPartName[] = "silly.net.c";
// The least a line reader past the socket's limit may read ahead.
constexpr size_t kLineReadAhead = 64u << 10;

ScriptOwner *owner_of(lua_State *L, lua_Integer kind) {
  auto *part = static_cast<ScriptOwners *>(LuaHost::from(L)->part(kPartName));
  return kind >= 0 && kind < kOwnerKinds ? &part->owners[kind] : nullptr;
}

ScriptOwner *check_owner(lua_State *L, int idx) {
  ScriptOwner *o = owner_of(L, luaL_checkinteger(L, idx));
  luaL_argcheck(L, o != nullptr, idx, "unknown socket owner");
  return o;
}

SocketManager &sockets(lua_State *L) {
  return LuaHost::from(L)->sockets();
}

SocketId check_id(lua_State *L, int idx) {
  return static_cast<SocketId>(luaL_checkinteger(L, idx));
}

// onevent(owner, f): f(event, id, ...) gets the events of owner's sockets.
int l_onevent(lua_State *L) {
  ScriptOwner *o = check_owner(L, 1);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_settop(L, 2);
  o->set_function(luaL_ref(L, LUA_REGISTRYINDEX));
  return 0;
}

// tcplisten(addr, backlog, owner [, tls context]) -> id | nil, err
int l_tcplisten(lua_State *L) {
  SockAddr addr;
  if (!check_address(L, 1, true, &addr)) return 2;
  int backlog = static_cast<int>(luaL_optinteger(L, 2, 256));
  SocketOwner *owner = check_owner(L, 3);
  check_tls_context(L, 4);
  return push_id(L, sockets(L).listen(addr, backlog, owner, opt_tls_context(L, 4)));
}

// tcpconnect(addr, bind|nil, timeout_ms, owner [, tls context]) -> id | nil, err
int l_tcpconnect(lua_State *L) {
  SockAddr addr, bind;
  if (!check_address(L, 1, false, &addr)) return 2;
  bool has_bind = !lua_isnoneornil(L, 2);
  if (has_bind && !parse_address(luaL_checkstring(L, 2), true, &bind)) {
    lua_pushnil(L);
    lua_pushfstring(L, "invalid bind address:%s", lua_tostring(L, 2));
    return 2;
  }
  int timeout = static_cast<int>(luaL_optinteger(L, 3, 0));
  SocketOwner *owner = check_owner(L, 4);
  check_tls_context(L, 5);
  return push_id(L, sockets(L).connect(addr, has_bind ? &bind : nullptr, timeout, owner, opt_tls_context(L, 5)));
}

int l_udpbind(lua_State *L) {
  SockAddr addr;
  if (!check_address(L, 1, true, &addr)) return 2;
  return push_id(L, sockets(L).udp_bind(addr, owner_of(L, kOwnDatagram)));
}

int l_udpconnect(lua_State *L) {
  SockAddr addr;
  if (!check_address(L, 1, false, &addr)) return 2;
  return push_id(L, sockets(L).udp_connect(addr, owner_of(L, kOwnDatagram)));
}

int push_send_result(lua_State *L, int rc) {
  if (rc == 0) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushboolean(L, 0);
  lua_pushstring(L, socket_strerror(rc));
  return 2;
}

// send(id, string | {strings} | lightuserdata, size) -> true | false, err.
// A lightuserdata is the caller's malloc'd buffer; it is freed here.
int l_send(lua_State *L) {
  SocketId id = check_id(L, 1);
  SocketManager &sm = sockets(L);
  switch (lua_type(L, 2)) {
    case LUA_TSTRING: {
      size_t n;
      const char *s = lua_tolstring(L, 2, &n);
      return push_send_result(L, sm.send(id, s, n));
    }
    case LUA_TLIGHTUSERDATA: {
      void *p = lua_touserdata(L, 2);
      lua_Integer n = luaL_checkinteger(L, 3);
      int rc = n > 0 ? sm.send(id, p, static_cast<size_t>(n)) : 0;
      std::free(p);
      return push_send_result(L, rc);
    }
    case LUA_TTABLE: {
      int rc = 0;
      for (lua_Integer i = 1; rc == 0; i++) {
        if (lua_rawgeti(L, 2, i) == LUA_TNIL) break;
        size_t n;
        const char *s = luaL_checklstring(L, -1, &n);
        rc = sm.send(id, s, n);
        lua_pop(L, 1);
      }
      return push_send_result(L, rc);
    }
    default: {
      const char *name = lua_tostring(L, lua_upvalueindex(1));  // sender(name)'s
      return luaL_error(L, "%s: string, table or lightuserdata expected, got %s", name ? name : "send",
                        luaL_typename(L, 2));
    }
  }
}

// sender(name) -> send itself, raising errors under `name` ("tcp.write"):
// a module hands it out as its write function, so that a task calling it
// between two reads adds no Lua frame to its stack.
int l_sender(lua_State *L) {
  luaL_checkstring(L, 1);
  lua_settop(L, 1);
  lua_pushcclosure(L, l_send, 1);
  return 1;
}

// sendto(id, data, addr|nil) -> true | false, err
int l_sendto(lua_State *L) {
  SocketId id = check_id(L, 1);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  SockAddr to;
  bool has_to = !lua_isnoneornil(L, 3);
  if (has_to && !check_address(L, 3, false, &to)) return 2;
  return push_send_result(L, sockets(L).sendto(id, s, n, has_to ? &to : nullptr));
}

int l_close(lua_State *L) {
  return push_send_result(L, sockets(L).close(check_id(L, 1)));
}

// read(id, n) -> string | nil when fewer than n bytes are buffered
int l_read(lua_State *L) {
  RingBuffer *in = sockets(L).input(check_id(L, 1));
  lua_Integer n = luaL_checkinteger(L, 2);
  if (n <= 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  if (in == nullptr || in->size() < static_cast<size_t>(n)) return 0;
  luaL_Buffer b;
  char *dst = luaL_buffinitsize(L, &b, static_cast<size_t>(n));
  in->peek(dst, static_cast<size_t>(n));
  in->consume(static_cast<size_t>(n));
  sockets(L).consumed(check_id(L, 1));
  luaL_pushresultsize(&b, static_cast<size_t>(n));
  return 1;
}

// readline(id, delim) -> line including delim | nil
int l_readline(lua_State *L) {
  RingBuffer *in = sockets(L).input(check_id(L, 1));
  size_t dlen;
  const char *delim = luaL_checklstring(L, 2, &dlen);
  if (in == nullptr) return 0;
  long at = in->find(delim, dlen);
  if (at < 0) return 0;
  size_t n = static_cast<size_t>(at) + dlen;
  luaL_Buffer b;
  char *dst = luaL_buffinitsize(L, &b, n);
  in->peek(dst, n);
  in->consume(n);
  sockets(L).consumed(check_id(L, 1));
  luaL_pushresultsize(&b, n);
  return 1;
}

// readall(id, max|nil) -> string (possibly empty)
int l_readall(lua_State *L) {
  RingBuffer *in = sockets(L).input(check_id(L, 1));
  if (in == nullptr) {
    lua_pushliteral(L, "");
    return 1;
  }
  size_t n = in->size();
  if (!lua_isnoneornil(L, 2)) {
    lua_Integer max = luaL_checkinteger(L, 2);
    if (max >= 0 && static_cast<size_t>(max) < n) n = static_cast<size_t>(max);
  }
  luaL_Buffer b;
  char *dst = luaL_buffinitsize(L, &b, n);
  in->peek(dst, n);
  in->consume(n);
  sockets(L).consumed(check_id(L, 1));
  luaL_pushresultsize(&b, n);
  return 1;
}

// Bytes waiting in the socket's receive ring (0 for an unknown socket).
size_t buffered(lua_State *L, SocketId id) {
  RingBuffer *in = sockets(L).input(id);
  return in == nullptr ? 0 : in->size();
}

int l_recvsize(lua_State *L) {
  lua_pushinteger(L, static_cast<lua_Integer>(buffered(L, check_id(L, 1))));
  return 1;
}

int l_sendsize(lua_State *L) {
  lua_pushinteger(L, static_cast<lua_Integer>(sockets(L).send_queue_size(check_id(L, 1))));
  return 1;
}

// limit(id, bytes) -> the previous limit (0x7fffffff: none) | false
int l_limit(lua_State *L) {
  SocketId id = check_id(L, 1);
  lua_Integer bytes = luaL_checkinteger(L, 2);
  size_t old = 0;
  if (sockets(L).set_read_limit(id, bytes <= 0 ? SIZE_MAX : static_cast<size_t>(bytes), &old) != 0) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushinteger(L, old == SIZE_MAX ? 0x7fffffff : static_cast<lua_Integer>(old));
  return 1;
}

// resume(id [, want]): a reader waits for `want` bytes in the ring; a
// negative want: more than the ring holds, a line reader whose line is
// longer than the limit. That one is let read twice what it has (at least
// a read chunk more), so that a long line takes a few turns, each scanning
// the ring once, not one turn and one scan per byte.
int l_resume(lua_State *L) {
  SocketId id = check_id(L, 1);
  lua_Integer want = luaL_optinteger(L, 2, 0);
  size_t bytes = want > 0 ? static_cast<size_t>(want) : 0;
  if (want < 0) {
    size_t have = buffered(L, id);
    bytes = have + (have > kLineReadAhead ? have : kLineReadAhead);
  }
  sockets(L).resume_read(id, bytes);
  return 0;
}

int l_sendlimit(lua_State *L) {
  SocketId id = check_id(L, 1);
  lua_Integer bytes = luaL_checkinteger(L, 2);
  luaL_argcheck(L, bytes > 0, 2, "limit must be positive");
  lua_pushboolean(L, sockets(L).set_send_limit(id, static_cast<size_t>(bytes)) == 0);
  return 1;
}

// isalive(id) -> true (open), false (ended by the peer or failed), or
// nothing (unknown or closing).
int l_isalive(lua_State *L) {
  int st = sockets(L).state(check_id(L, 1));
  if (st == kErrUnknownSocket || st == kErrClosing) return 0;
  lua_pushboolean(L, st == 0);
  return 1;
}

int l_count(lua_State *L) {
  lua_pushinteger(L, static_cast<lua_Integer>(sockets(L).count()));
  return 1;
}

// bigfreed() -> bytes of large socket buffers given back since the last call.
int l_bigfreed(lua_State *L) {
  lua_pushinteger(L, static_cast<lua_Integer>(sockets(L).take_big_released()));
  return 1;
}

// peak() -> the most sockets open at once since the previous peak().
int l_peak(lua_State *L) {
  lua_pushinteger(L, static_cast<lua_Integer>(sockets(L).take_peak()));
  return 1;
}

int l_trim(lua_State *L) {
  sockets(L).trim();
  return 0;
}

int l_sockname(lua_State *L) {
  std::string a = sockets(L).local_address(check_id(L, 1));
  if (a.empty()) return 0;
  lua_pushlstring(L, a.data(), a.size());
  return 1;
}

// alpn(id) -> the protocol a TLS stream's handshake agreed, or nothing.
int l_alpn(lua_State *L) {
  std::string p = sockets(L).protocol(check_id(L, 1));
  if (p.empty()) return 0;
  lua_pushlstring(L, p.data(), p.size());
  return 1;
}

// The text of a status; a TLS failure says what OpenSSL found, as the
// status is read in the event that reported it.
int l_strerror(lua_State *L) {
  auto code = static_cast<int>(luaL_checkinteger(L, 1));
  if (code == kErrTls) {
    lua_pushfstring(L, "TLS failure: %s", sockets(L).last_failure().c_str());
    return 1;
  }
  lua_pushstring(L, socket_strerror(code));
  return 1;
}

// The errno values scripts see in close callbacks, by name.
void push_errnos(lua_State *L) {
  static const struct {
    const char *name;
    int value;
  } kErrnos[] = {
      {"EPROTO", EPROTO},
      {"ETIMEDOUT", ETIMEDOUT},
      {"ECONNRESET", ECONNRESET},
      {"ECONNREFUSED", ECONNREFUSED},
      {"EACCES", EACCES},
      {"EMSGSIZE", EMSGSIZE},
      {"EPIPE", EPIPE},
      {"ENOBUFS", ENOBUFS},
      {"EHOSTUNREACH", EHOSTUNREACH},
  };
  lua_createtable(L, 0, static_cast<int>(sizeof(kErrnos) / sizeof(kErrnos[0])));
  for (const auto &e : kErrnos) {
    lua_pushinteger(L, e.value);
    lua_setfield(L, -2, e.name);
  }
}

}  // namespace

int open_silly_net(lua_State *L) {
  LuaHost *host = LuaHost::from(L);
  if (host->part(kPartName) == nullptr) host->attach(kPartName, std::make_unique<ScriptOwners>(*host));
  const luaL_Reg fns[] = {
      {"onevent", l_onevent},
      {"tcplisten", l_tcplisten},
      {"tcpconnect", l_tcpconnect},
      {"udpbind", l_udpbind},
      {"udpconnect", l_udpconnect},
      {"send", l_send},
      {"sendto", l_sendto},
      {"close", l_close},
      {"read", l_read},
      {"readline", l_readline},
      {"readall", l_readall},
      {"recvsize", l_recvsize},
      {"sendsize", l_sendsize},
      {"limit", l_limit},
      {"resume", l_resume},
      {"sender", l_sender},
      {"peak", l_peak},
      {"bigfreed", l_bigfreed},
      {"sendlimit", l_sendlimit},
      {"isalive", l_isalive},
      {"count", l_count},
      {"trim", l_trim},
      {"strerror", l_strerror},
      {"sockname", l_sockname},
      {"alpn", l_alpn},
      {nullptr, nullptr},
  };
  luaL_newlib(L, fns);
  const struct {
    const char *name;
    int value;
  } kConstants[] = {
      {"STREAM", kOwnStream},     {"RAW", kOwnRaw},     {"DGRAM", kOwnDatagram}, {"EV_ACCEPT", kEvAccept},
      {"EV_CONNECT", kEvConnect}, {"EV_DATA", kEvData}, {"EV_CLOSE", kEvClose},
  };
  for (const auto &c : kConstants) {
    lua_pushinteger(L, c.value);
    lua_setfield(L, -2, c.name);
  }
  push_errnos(L);
  lua_setfield(L, -2, "errno");
  return 1;
}

}  // namespace silly
