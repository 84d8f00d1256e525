// silly.net.c: sockets for silly.net, silly.net.tcp, silly.net.udp.
//
// Ids, byte counts and error codes cross the boundary as integers; the Lua
// side turns codes into messages with strerror() only when it reports one.
#include <cstdlib>
#include <cstring>
#include <string>

#include "lua_api/host.h"
#include "lua_api/modules.h"

namespace silly {

namespace {

SocketManager &sockets(lua_State *L) {
  return LuaHost::from(L)->sockets();
}

SocketId check_id(lua_State *L, int idx) {
  return static_cast<SocketId>(luaL_checkinteger(L, idx));
}

int push_error(lua_State *L, int code) {
  lua_pushnil(L);
  lua_pushstring(L, socket_strerror(code));
  return 2;
}

bool check_address(lua_State *L, int idx, bool empty_host_is_any, SockAddr *out) {
  size_t len;
  const char *text = luaL_checklstring(L, idx, &len);
  if (parse_address(std::string_view(text, len), empty_host_is_any, out)) return true;
  lua_pushnil(L);
  lua_pushfstring(L, "invalid address:%s", text);
  return false;
}

// tcplisten(addr, backlog, mode) -> id | nil, err
int l_tcplisten(lua_State *L) {
  SockAddr addr;
  if (!check_address(L, 1, true, &addr)) return 2;
  int backlog = static_cast<int>(luaL_optinteger(L, 2, 256));
  int mode = static_cast<int>(luaL_optinteger(L, 3, kModeStream));
  int err = 0;
  SocketId id = sockets(L).listen(addr, backlog, &err);
  if (id == 0) return push_error(L, err);
  LuaHost::from(L)->set_socket_mode(id, mode);
  lua_pushinteger(L, id);
  return 1;
}

// tcpconnect(addr, bind|nil, timeout_ms, mode) -> id | nil, err
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
  int mode = static_cast<int>(luaL_optinteger(L, 4, kModeStream));
  int err = 0;
  SocketId id = sockets(L).connect(addr, has_bind ? &bind : nullptr, timeout, &err);
  if (id == 0) return push_error(L, err);
  LuaHost::from(L)->set_socket_mode(id, mode);
  lua_pushinteger(L, id);
  return 1;
}

int l_udpbind(lua_State *L) {
  SockAddr addr;
  if (!check_address(L, 1, true, &addr)) return 2;
  int err = 0;
  SocketId id = sockets(L).udp_bind(addr, &err);
  if (id == 0) return push_error(L, err);
  lua_pushinteger(L, id);
  return 1;
}

int l_udpconnect(lua_State *L) {
  SockAddr addr;
  if (!check_address(L, 1, false, &addr)) return 2;
  int err = 0;
  SocketId id = sockets(L).udp_connect(addr, &err);
  if (id == 0) return push_error(L, err);
  lua_pushinteger(L, id);
  return 1;
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
    default: return luaL_error(L, "send: string, table or lightuserdata expected, got %s", luaL_typename(L, 2));
  }
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
  SocketId id = check_id(L, 1);
  int rc = sockets(L).close(id);
  LuaHost::from(L)->forget_socket(id);
  return push_send_result(L, rc);
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
  luaL_pushresultsize(&b, n);
  return 1;
}

int l_recvsize(lua_State *L) {
  RingBuffer *in = sockets(L).input(check_id(L, 1));
  lua_pushinteger(L, in == nullptr ? 0 : static_cast<lua_Integer>(in->size()));
  return 1;
}

int l_sendsize(lua_State *L) {
  lua_pushinteger(L, static_cast<lua_Integer>(sockets(L).send_queue_size(check_id(L, 1))));
  return 1;
}

int l_limit(lua_State *L) {
  SocketId id = check_id(L, 1);
  lua_Integer bytes = luaL_checkinteger(L, 2);
  long long old = sockets(L).set_read_limit(id, bytes <= 0 ? SIZE_MAX : static_cast<size_t>(bytes));
  if (old < 0) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushinteger(L, old);
  return 1;
}

int l_resume(lua_State *L) {
  sockets(L).resume_read(check_id(L, 1));
  return 0;
}

int l_sendlimit(lua_State *L) {
  SocketId id = check_id(L, 1);
  lua_Integer bytes = luaL_checkinteger(L, 2);
  luaL_argcheck(L, bytes > 0, 2, "limit must be positive");
  lua_pushboolean(L, sockets(L).set_send_limit(id, static_cast<size_t>(bytes)));
  return 1;
}

int l_isalive(lua_State *L) {
  int a = sockets(L).alive(check_id(L, 1));
  if (a < 0) return 0;
  lua_pushboolean(L, a);
  return 1;
}

int l_count(lua_State *L) {
  lua_pushinteger(L, static_cast<lua_Integer>(sockets(L).count()));
  return 1;
}

int l_sockname(lua_State *L) {
  std::string a = sockets(L).local_address(check_id(L, 1));
  if (a.empty()) return 0;
  lua_pushlstring(L, a.data(), a.size());
  return 1;
}

int l_strerror(lua_State *L) {
  lua_pushstring(L, socket_strerror(static_cast<int>(luaL_checkinteger(L, 1))));
  return 1;
}

}  // namespace

int open_silly_net(lua_State *L) {
  const luaL_Reg fns[] = {
      {"tcplisten", l_tcplisten}, {"tcpconnect", l_tcpconnect},
      {"udpbind", l_udpbind},     {"udpconnect", l_udpconnect},
      {"send", l_send},           {"sendto", l_sendto},
      {"close", l_close},         {"read", l_read},
      {"readline", l_readline},   {"readall", l_readall},
      {"recvsize", l_recvsize},   {"sendsize", l_sendsize},
      {"limit", l_limit},         {"resume", l_resume},
      {"sendlimit", l_sendlimit}, {"isalive", l_isalive},
      {"count", l_count},         {"strerror", l_strerror},
      {"sockname", l_sockname},   {nullptr, nullptr},
  };
  luaL_newlib(L, fns);
  lua_pushinteger(L, kModeStream);
  lua_setfield(L, -2, "STREAM");
  lua_pushinteger(L, kModeRaw);
  lua_setfield(L, -2, "RAW");
  lua_pushinteger(L, kModeCluster);
  lua_setfield(L, -2, "CLUSTER");
  return 1;
}

}  // namespace silly
