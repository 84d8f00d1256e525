// silly.tls.c: TLS contexts for silly.net.tls and silly.net.cluster.
//
// A context is a userdata holding a core TlsContext (core/tls.h); the
// socket bindings take it where a listen or connect may be TLS. Streams
// keep their context alive on the C++ side, so a script may drop it.
#include <memory>
#include <string>

#include "core/tls.h"
#include "lua_api/modules.h"

namespace silly {

namespace {

constexpr char kContextMeta[] = "silly.tls.context";

using ContextRef = std::shared_ptr<TlsContext>;

ContextRef *check_context(lua_State *L, int idx) {
  return static_cast<ContextRef *>(luaL_checkudata(L, idx, kContextMeta));
}

std::string opt_string(lua_State *L, int t, const char *field) {
  lua_getfield(L, t, field);
  std::string v;
  if (lua_type(L, -1) == LUA_TSTRING) {
    v = lua_tostring(L, -1);
  } else if (!lua_isnil(L, -1)) {
    luaL_error(L, "tls: '%s' must be a string (a file path or a name), got %s", field, luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  return v;
}

// context({server=, cert=, key=, ca=, verify=, servername=, handshake=}, fname)
// -> context; raises "fname: why" naming the file that could not be used.
int l_context(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const char *fname = luaL_optstring(L, 2, "tls.context");
  TlsConfig c;
  lua_getfield(L, 1, "server");
  c.server = lua_toboolean(L, -1) != 0;
  lua_getfield(L, 1, "verify");
  if (!lua_isnil(L, -1)) c.verify = lua_toboolean(L, -1) != 0;
  lua_getfield(L, 1, "handshake");
  if (!lua_isnil(L, -1)) {
    lua_Integer ms = luaL_checkinteger(L, -1);
    if (ms <= 0) return luaL_error(L, "%s: handshake must be a positive number of ms", fname);
    c.handshake_timeout_ms = static_cast<int>(ms);
  }
  lua_pop(L, 3);
  c.cert = opt_string(L, 1, "cert");
  c.key = opt_string(L, 1, "key");
  c.ca = opt_string(L, 1, "ca");
  c.servername = opt_string(L, 1, "servername");
  std::string error;
  ContextRef ctx = TlsContext::create(c, &error);
  if (ctx == nullptr) return luaL_error(L, "%s: %s", fname, error.c_str());
  void *mem = lua_newuserdatauv(L, sizeof(ContextRef), 0);
  new (mem) ContextRef(std::move(ctx));
  luaL_setmetatable(L, kContextMeta);
  return 1;
}

// ctx:reload() -> true | nil, why: reads the files again for new streams.
int l_reload(lua_State *L) {
  ContextRef *ctx = check_context(L, 1);
  std::string error;
  if ((*ctx)->reload(&error) != 0) {
    lua_pushnil(L);
    lua_pushstring(L, error.c_str());
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

FilterFactoryPtr opt_tls_context(lua_State *L, int idx) {
  if (lua_isnoneornil(L, idx)) return nullptr;
  return *check_context(L, idx);
}

int open_silly_tls(lua_State *L) {
  if (luaL_newmetatable(L, kContextMeta)) {
    const luaL_Reg methods[] = {{"reload", l_reload}, {nullptr, nullptr}};
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
