// silly.mysql.c: MySQL connections (core/mysql_client.h) for
// silly.store.mysql, which keeps the pool and the tasks in Lua.
//
// new() -> conn. Each request returns true when it finished at once, false
// when the task must wait: ondone's function then gets the conn.
//   connect(conn, host, port, user, password, database, charset,
//           timeout_ms, max_packet)
//   query(conn, timeout_ms, sql, ...)    a prepared statement (nil and the
//                                        reason for a value SQL has none for)
//   command(conn, timeout_ms, sql)       text protocol, no rows (BEGIN)
//   ping(conn, timeout_ms)
//   next(conn, timeout_ms)               the next result set
// outcome(conn[, rows]) -> result, err, more: rows appended to `rows` (or a
//   new table) for a result set, else an OK table; nil and an ERR table on
//   failure. `more` is true when next() has another result set; a third
//   value "misuse" marks a caller's mistake (placeholders vs values).
// close(conn); broken(conn); alive(conn): an idle link still open;
// cached(conn) -> prepared statements kept.
#include <cinttypes>
#include <cstdio>
#include <lua.hpp>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "silly/core/mysql_client.h"
#include "silly/lua_api/host.h"
#include "silly/lua_api/modules.h"

namespace silly {

namespace {

constexpr const char *kConnMeta = "silly.mysql.conn";
constexpr const char *kPartName = "silly.mysql";

class MysqlBinding : public HostPart {
 public:
  int done_ref = LUA_NOREF;
};

struct Conn {
  std::unique_ptr<MysqlClient> client;
  int self_ref = LUA_NOREF;  // held while a request waits: the userdata stays
  MysqlBinding *binding = nullptr;
  LuaHost *host = nullptr;
};

MysqlBinding &binding(lua_State *L) {
  return *static_cast<MysqlBinding *>(lua_touserdata(L, lua_upvalueindex(1)));
}

Conn &check_conn(lua_State *L) {
  auto *c = static_cast<Conn *>(luaL_checkudata(L, 1, kConnMeta));
  if (!c->client) luaL_argerror(L, 1, "mysql: the connection is gone");
  return *c;
}

// The client finished a request the task waits for.
void deliver(Conn *c) {
  LuaHost &host = *c->host;
  int ref = c->self_ref;
  c->self_ref = LUA_NOREF;
  lua_State *L = host.L();
  if (ref == LUA_NOREF) return;
  if (!host.begin(c->binding->done_ref)) {
    luaL_unref(L, LUA_REGISTRYINDEX, ref);
    return;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
  luaL_unref(L, LUA_REGISTRYINDEX, ref);
  host.call(1);
}

// Pushes whether the request finished at once; keeps the userdata while
// it waits.
int started(lua_State *L, Conn &c, bool finished) {
  if (!finished) {
    lua_pushvalue(L, 1);
    c.self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  lua_pushboolean(L, finished);
  return 1;
}

void check_idle(lua_State *L, Conn &c, const char *what) {
  if (c.client->busy()) luaL_error(L, "%s: the connection is in use by another request", what);
}

int l_new(lua_State *L) {
  MysqlBinding &b = binding(L);
  auto *c = static_cast<Conn *>(lua_newuserdatauv(L, sizeof(Conn), 0));
  new (c) Conn();
  luaL_setmetatable(L, kConnMeta);
  c->binding = &b;
  c->host = LuaHost::from(L);
  c->client = std::make_unique<MysqlClient>(c->host->loop(), [c] { deliver(c); });
  return 1;
}

int l_gc(lua_State *L) {
  auto *c = static_cast<Conn *>(luaL_checkudata(L, 1, kConnMeta));
  c->~Conn();
  return 0;
}

int64_t opt_ms(lua_State *L, int idx) {
  lua_Integer ms = luaL_optinteger(L, idx, 0);
  return ms > 0 ? ms : 0;
}

int l_connect(lua_State *L) {
  Conn &c = check_conn(L);
  check_idle(L, c, "mysql connect");
  // Every argument checked before a std::string exists: a raise would
  // skip its destructor.
  const char *host = luaL_checkstring(L, 2);
  lua_Integer port = luaL_checkinteger(L, 3);
  const char *user = luaL_optstring(L, 4, "");
  const char *password = luaL_optstring(L, 5, "");
  const char *database = luaL_optstring(L, 6, "");
  const char *charset = luaL_optstring(L, 7, "");
  int64_t timeout_ms = opt_ms(L, 8);
  lua_Integer max_packet = luaL_optinteger(L, 9, 0);
  bool finished;
  {
    MysqlConnectOptions o;
    o.host = host;
    o.port = static_cast<unsigned>(port);
    o.user = user;
    o.password = password;
    o.database = database;
    o.charset = charset;
    o.timeout_ms = timeout_ms;
    o.max_allowed_packet = static_cast<unsigned long>(max_packet);
    finished = c.client->connect(o);
  }
  return started(L, c, finished);
}

void to_param(lua_State *L, int idx, MysqlParam &p) {
  switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN:
      p.kind = MysqlParam::kBool;
      p.i = lua_toboolean(L, idx);
      break;
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) {
        p.kind = MysqlParam::kInt;
        p.i = lua_tointeger(L, idx);
      } else {
        p.kind = MysqlParam::kDouble;
        p.d = lua_tonumber(L, idx);
      }
      break;
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(L, idx, &len);
      p.kind = MysqlParam::kString;
      p.s.assign(s, len);
      break;
    }
    default: p.kind = MysqlParam::kNull; break;
  }
}

// A value SQL has none for is the caller's mistake: nil and the reason,
// for the Lua side to raise in the caller's name.
int l_query(lua_State *L) {
  Conn &c = check_conn(L);
  check_idle(L, c, "mysql query");
  int64_t timeout = opt_ms(L, 2);
  size_t len;
  const char *sql = luaL_checklstring(L, 3, &len);
  int top = lua_gettop(L);
  for (int i = 4; i <= top; i++) {
    int t = lua_type(L, i);
    if (t != LUA_TNIL && t != LUA_TBOOLEAN && t != LUA_TNUMBER && t != LUA_TSTRING) {
      lua_pushnil(L);
      lua_pushfstring(L, "value %d is a %s (nil, boolean, number or string expected)", i - 3, luaL_typename(L, i));
      return 2;
    }
  }
  bool finished;
  {
    std::vector<MysqlParam> params(static_cast<size_t>(top - 3));
    for (int i = 4; i <= top; i++) to_param(L, i, params[static_cast<size_t>(i - 4)]);
    finished = c.client->query(std::string(sql, len), std::move(params), timeout);
  }
  return started(L, c, finished);
}

int l_command(lua_State *L) {
  Conn &c = check_conn(L);
  check_idle(L, c, "mysql command");
  int64_t timeout = opt_ms(L, 2);
  size_t len;
  const char *sql = luaL_checklstring(L, 3, &len);
  bool finished = c.client->command(std::string(sql, len), timeout);
  return started(L, c, finished);
}

int l_ping(lua_State *L) {
  Conn &c = check_conn(L);
  check_idle(L, c, "mysql ping");
  return started(L, c, c.client->ping(opt_ms(L, 2)));
}

int l_next(lua_State *L) {
  Conn &c = check_conn(L);
  check_idle(L, c, "mysql next");
  return started(L, c, c.client->next_result(opt_ms(L, 2)));
}

void set_int(lua_State *L, const char *key, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, key);
}

void push_error(lua_State *L, const MysqlClient &m) {
  lua_createtable(L, 0, 4);
  lua_pushliteral(L, "ERR");
  lua_setfield(L, -2, "type");
  if (m.errnum() != 0) set_int(L, "errno", m.errnum());
  if (!m.sqlstate().empty()) {
    lua_pushlstring(L, m.sqlstate().data(), m.sqlstate().size());
    lua_setfield(L, -2, "sqlstate");
  }
  lua_pushlstring(L, m.message().data(), m.message().size());
  lua_setfield(L, -2, "message");
}

void push_ok(lua_State *L, const MysqlClient &m) {
  lua_createtable(L, 0, 6);
  lua_pushliteral(L, "OK");
  lua_setfield(L, -2, "type");
  set_int(L, "affected_rows", static_cast<lua_Integer>(m.affected_rows()));
  set_int(L, "last_insert_id", static_cast<lua_Integer>(m.insert_id()));
  set_int(L, "server_status", m.server_status());
  set_int(L, "warning_count", m.warning_count());
  if (!m.info().empty()) {
    lua_pushlstring(L, m.info().data(), m.info().size());
    lua_setfield(L, -2, "message");
  }
}

void push_cell(lua_State *L, const MysqlCell &v) {
  switch (v.kind) {
    case MysqlCell::kNull: lua_pushnil(L); break;
    case MysqlCell::kInt: lua_pushinteger(L, v.i); break;
    case MysqlCell::kUint:
      if (v.u <= static_cast<uint64_t>(INT64_MAX)) {
        lua_pushinteger(L, static_cast<lua_Integer>(v.u));
      } else {
        // Beyond Lua's integers: its exact digits, not a rounded float.
        char digits[24];
        int n = snprintf(digits, sizeof digits, "%" PRIu64, v.u);
        lua_pushlstring(L, digits, static_cast<size_t>(n));
      }
      break;
    case MysqlCell::kDouble: lua_pushnumber(L, v.d); break;
    case MysqlCell::kBytes: lua_pushlstring(L, v.data, v.len); break;
  }
}

// Appends the result set's rows to the table at `rows`, each keyed by its
// columns' names (a NULL leaves its name out, as in the original).
void push_rows(lua_State *L, MysqlClient &m, int rows) {
  size_t ncols = m.columns();
  luaL_checkstack(L, static_cast<int>(ncols) + 8, "mysql: too many columns");
  int names = lua_gettop(L) + 1;
  for (size_t i = 0; i < ncols; i++) lua_pushlstring(L, m.column_name(i).data(), m.column_name(i).size());
  lua_Integer n = static_cast<lua_Integer>(lua_rawlen(L, rows));
  while (m.next_row()) {
    lua_createtable(L, 0, static_cast<int>(ncols));
    for (size_t i = 0; i < ncols; i++) {
      MysqlCell v = m.cell(i);
      if (v.kind == MysqlCell::kNull) continue;
      lua_pushvalue(L, names + static_cast<int>(i));
      push_cell(L, v);
      lua_rawset(L, -3);
    }
    lua_rawseti(L, rows, ++n);
  }
  lua_settop(L, names - 1);
}

int l_outcome(lua_State *L) {
  Conn &c = check_conn(L);
  MysqlClient &m = *c.client;
  if (m.busy()) return luaL_error(L, "mysql: the request has not finished");
  if (m.failed()) {
    lua_pushnil(L);
    push_error(L, m);
    if (m.misuse()) {
      lua_pushliteral(L, "misuse");
      return 3;
    }
    return 2;
  }
  if (m.has_rows()) {
    if (lua_type(L, 2) != LUA_TTABLE) {
      lua_settop(L, 1);
      lua_newtable(L);
    } else {
      lua_settop(L, 2);
    }
    push_rows(L, m, 2);
    if (m.failed()) {  // a row could not be read
      lua_pushnil(L);
      push_error(L, m);
      return 2;
    }
  } else {
    push_ok(L, m);
  }
  lua_pushnil(L);
  lua_pushboolean(L, m.more_results());
  return 3;
}

int l_close(lua_State *L) {
  auto *c = static_cast<Conn *>(luaL_checkudata(L, 1, kConnMeta));
  if (c->client) c->client->close();
  if (c->self_ref != LUA_NOREF) {
    luaL_unref(L, LUA_REGISTRYINDEX, c->self_ref);
    c->self_ref = LUA_NOREF;
  }
  return 0;
}

int l_broken(lua_State *L) {
  Conn &c = check_conn(L);
  lua_pushboolean(L, c.client->broken() || !c.client->connected());
  return 1;
}

int l_alive(lua_State *L) {
  Conn &c = check_conn(L);
  lua_pushboolean(L, c.client->alive());
  return 1;
}

int l_cached(lua_State *L) {
  Conn &c = check_conn(L);
  lua_pushinteger(L, static_cast<lua_Integer>(c.client->cached_statements()));
  return 1;
}

int l_ondone(lua_State *L) {
  hold_callback(L, &binding(L).done_ref);
  return 0;
}

}  // namespace

int open_silly_mysql(lua_State *L) {
  LuaHost *host = LuaHost::from(L);
  HostPart *part = host->part(kPartName);
  if (part == nullptr) part = host->attach(kPartName, std::make_unique<MysqlBinding>());
  if (luaL_newmetatable(L, kConnMeta)) {
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  const luaL_Reg fns[] = {
      {"new", l_new},       {"connect", l_connect}, {"query", l_query}, {"command", l_command}, {"ping", l_ping},
      {"next", l_next},     {"outcome", l_outcome}, {"close", l_close}, {"broken", l_broken},   {"alive", l_alive},
      {"cached", l_cached}, {"ondone", l_ondone},   {nullptr, nullptr},
  };
  luaL_newlibtable(L, fns);
  lua_pushlightuserdata(L, part);
  luaL_setfuncs(L, fns, 1);
  lua_pushinteger(L, static_cast<lua_Integer>(MysqlClient::kStatementCacheSize));
  lua_setfield(L, -2, "STATEMENT_CACHE");
  return 1;
}

}  // namespace silly
