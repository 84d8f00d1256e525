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

void check_options(lua_State *L, const char *fname) {
  for (const char *field : kStringFields) {
    int t = lua_getfield(L, 1, field);
    if (t != LUA_TNIL && t != LUA_TSTRING) {
      luaL_error(L, "%s: '%s' must be a string (a file path or a name), got %s", fname, field, lua_typename(L, t));
    }
    lua_pop(L, 1);
  }
  if (lua_getfield(L, 1, "handshake") != LUA_TNIL) {
    int exact = 0;
    lua_Integer ms = lua_tointegerx(L, -1, &exact);
    if (!exact || ms <= 0 || ms > 0x7fffffff) luaL_error(L, "%s: handshake must be a positive number of ms", fname);
  }
  lua_pop(L, 1);
}

std::string string_field(lua_State *L, const char *field) {
  lua_getfield(L, 1, field);
  std::string v = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
  lua_pop(L, 1);
  return v;
}

// Pushes the new context, or the error's text; true for a context.
bool make_context(lua_State *L, const char *fname) {
  TlsConfig c;
  lua_getfield(L, 1, "server");
  c.server = lua_toboolean(L, -1) != 0;
  lua_getfield(L, 1, "verify");
  if (!lua_isnil(L, -1)) c.verify = lua_toboolean(L, -1) != 0;
  lua_getfield(L, 1, "handshake");
  if (!lua_isnil(L, -1)) c.handshake_timeout_ms = static_cast<int>(lua_tointeger(L, -1));
  lua_pop(L, 3);
  c.cert = string_field(L, "cert");
  c.key = string_field(L, "key");
  c.ca = string_field(L, "ca");
  c.servername = string_field(L, "servername");
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
  check_options(L, fname);
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
