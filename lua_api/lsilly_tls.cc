// silly.tls.c: TLS contexts for silly.net.tls and silly.net.cluster.
//
// A context is a userdata holding a core TlsContext (core/tls.h); the
// socket bindings take it where a listen or connect may be TLS. Streams
// keep their context alive on the C++ side, so a script may drop it.
#include <memory>
#include <string>

#include "silly/core/tls.h"
#include "silly/lua_api/modules.h"

namespace silly {

namespace {

constexpr char kContextMeta[] = "silly.tls.context";

using ContextRef = std::shared_ptr<TlsContext>;

ContextRef *check_context(lua_State *L, int idx) {
  return static_cast<ContextRef *>(luaL_checkudata(L, idx, kContextMeta));
}

// Lua errors unwind with longjmp, past C++ destructors: the options are
// checked first, with no C++ object alive, and a failure to load is raised
// only after the objects that describe it are gone.
const char *const kStringFields[] = {"cert", "key", "ca", "servername"};

// A list of strings at t[field] (ALPN protocols), or nothing.
void check_string_list(lua_State *L, int idx, const char *fname, const char *field) {
  int t = lua_getfield(L, idx, field);
  if (t != LUA_TNIL && t != LUA_TTABLE)
    luaL_error(L, "%s: '%s' must be a list of strings, got %s", fname, field, lua_typename(L, t));
  if (t == LUA_TTABLE) {
    for (lua_Integer i = 1, n = luaL_len(L, -1); i <= n; i++) {
      if (lua_geti(L, -1, i) != LUA_TSTRING) luaL_error(L, "%s: '%s' must be a list of strings", fname, field);
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
}

// certs = {{cert = <PEM text>, key = <PEM text>}, ...}, or nothing.
void check_certs(lua_State *L, int idx, const char *fname) {
  int t = lua_getfield(L, idx, "certs");
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  if (t != LUA_TTABLE || luaL_len(L, -1) == 0) {
    luaL_error(L, "%s: certs must be a list of {cert = <PEM text>, key = <PEM text>}", fname);
  }
  for (lua_Integer i = 1, n = luaL_len(L, -1); i <= n; i++) {
    bool ok = lua_geti(L, -1, i) == LUA_TTABLE && lua_getfield(L, -1, "cert") == LUA_TSTRING &&
              lua_getfield(L, -2, "key") == LUA_TSTRING;
    if (!ok) luaL_error(L, "%s: certs[%d] must be {cert = <PEM text>, key = <PEM text>}", fname, static_cast<int>(i));
    lua_pop(L, 3);
  }
  lua_pop(L, 1);
}

void check_options(lua_State *L, int idx, const char *fname) {
  for (const char *field : kStringFields) {
    int t = lua_getfield(L, idx, field);
    if (t != LUA_TNIL && t != LUA_TSTRING) {
      luaL_error(L, "%s: '%s' must be a string (a file path or a name), got %s", fname, field, lua_typename(L, t));
    }
    lua_pop(L, 1);
  }
  int t = lua_getfield(L, idx, "ciphers");
  if (t != LUA_TNIL && t != LUA_TSTRING)
    luaL_error(L, "%s: 'ciphers' must be a string, got %s", fname, lua_typename(L, t));
  lua_pop(L, 1);
  check_string_list(L, idx, fname, "alpn");
  check_certs(L, idx, fname);
  if (lua_getfield(L, idx, "handshake") != LUA_TNIL) {
    int exact = 0;
    lua_Integer ms = lua_tointegerx(L, -1, &exact);
    if (!exact || ms <= 0 || ms > 0x7fffffff) luaL_error(L, "%s: handshake must be a positive number of ms", fname);
  }
  lua_pop(L, 1);
}

std::string string_field(lua_State *L, int idx, const char *field) {
  lua_getfield(L, idx, field);
  std::string v = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
  lua_pop(L, 1);
  return v;
}

// The options at idx, checked by check_options (nothing here raises).
void read_config(lua_State *L, int idx, TlsConfig *c) {
  lua_getfield(L, idx, "server");
  c->server = lua_toboolean(L, -1) != 0;
  lua_getfield(L, idx, "verify");
  if (!lua_isnil(L, -1)) c->verify = lua_toboolean(L, -1) != 0;
  lua_getfield(L, idx, "handshake");
  if (!lua_isnil(L, -1)) c->handshake_timeout_ms = static_cast<int>(lua_tointeger(L, -1));
  lua_pop(L, 3);
  c->cert = string_field(L, idx, "cert");
  c->key = string_field(L, idx, "key");
  c->ca = string_field(L, idx, "ca");
  c->servername = string_field(L, idx, "servername");
  c->ciphers = string_field(L, idx, "ciphers");
  if (lua_getfield(L, idx, "alpn") == LUA_TTABLE) {
    for (lua_Integer i = 1, n = luaL_len(L, -1); i <= n; i++) {
      lua_geti(L, -1, i);
      c->alpn.emplace_back(lua_tostring(L, -1));
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  if (lua_getfield(L, idx, "certs") == LUA_TTABLE) {
    for (lua_Integer i = 1, n = luaL_len(L, -1); i <= n; i++) {
      lua_geti(L, -1, i);
      c->pem_certs.emplace_back(string_field(L, -1, "cert"), string_field(L, -1, "key"));
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
}

// Pushes the new context, or the error's text; true for a context.
bool make_context(lua_State *L, const char *fname) {
  TlsConfig c;
  read_config(L, 1, &c);
  std::string error;
  ContextRef ctx = TlsContext::create(c, &error);
  if (ctx == nullptr) {
    lua_pushfstring(L, "%s: %s", fname, error.c_str());
    return false;
  }
  // A userdata holding the shared pointer, destroyed by __gc.
  void *mem = lua_newuserdatauv(L, sizeof(ContextRef), 0);
  new (mem) ContextRef(std::move(ctx));
  luaL_setmetatable(L, kContextMeta);
  return true;
}

// context({server=, cert=, key=, ca=, verify=, servername=, handshake=}, fname)
// -> context; raises "fname: why" naming the file that could not be used.
int l_context(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const char *fname = luaL_optstring(L, 2, "tls.context");
  check_options(L, 1, fname);
  if (!make_context(L, fname)) return lua_error(L);
  return 1;
}

// ctx:reload() -> true | nil, why: reads the files again for new streams.
int l_reload(lua_State *L) {
  ContextRef *ctx = check_context(L, 1);
  std::string error;
  if ((*ctx)->reload(&error) != 0) {
    lua_pushnil(L);
    lua_pushlstring(L, error.data(), error.size());
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

// ctx:reconfigure(opts) -> true | nil, why: other options for new streams
// (the same side), as tls.reload(fd, conf) needs.
int l_reconfigure(lua_State *L) {
  ContextRef *ctx = check_context(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  check_options(L, 2, "tls.reload");
  std::string error;
  bool ok;
  {
    TlsConfig c;
    read_config(L, 2, &c);
    c.server = (*ctx)->config().server;
    ok = (*ctx)->reconfigure(c, &error) == 0;
  }
  if (!ok) {
    lua_pushnil(L);
    lua_pushlstring(L, error.data(), error.size());
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

int l_gc(lua_State *L) {
  check_context(L, 1)->~ContextRef();
  return 0;
}

}  // namespace

void check_tls_context(lua_State *L, int idx) {
  if (!lua_isnoneornil(L, idx)) check_context(L, idx);
}

FilterFactoryPtr opt_tls_context(lua_State *L, int idx) {
  if (lua_isnoneornil(L, idx)) return nullptr;
  auto *ctx = static_cast<ContextRef *>(luaL_testudata(L, idx, kContextMeta));
  return ctx != nullptr ? *ctx : nullptr;
}

int open_silly_tls(lua_State *L) {
  if (luaL_newmetatable(L, kContextMeta)) {
    const luaL_Reg methods[] = {{"reload", l_reload}, {"reconfigure", l_reconfigure}, {nullptr, nullptr}};
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  const luaL_Reg fns[] = {{"context", l_context}, {nullptr, nullptr}};
  luaL_newlib(L, fns);
  return 1;
}

}  // namespace silly
