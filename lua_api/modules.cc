#include "silly/lua_api/modules.h"

#include <cstring>
#include <string>

#include "silly/core/socket.h"
#include "silly/lua_api/batteries.h"
#include "silly/lua_api/lualib_embedded.h"

namespace silly {

namespace {

// package.searchers entry: the runtime's own Lua modules, compiled in.
int search_embedded(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  const EmbeddedLua *m = find_embedded_lua(name);
  if (m == nullptr) {
    lua_pushfstring(L, "no embedded module '%s'", name);
    return 1;
  }
  // "=": shown as "lualib/silly.lua:12" like a file's "@" name, and told
  // apart from the script's files (the task budget lets silly's own code
  // finish its work after stopping a task).
  std::string chunk = std::string("=lualib/") + m->path;
  if (luaL_loadbuffer(L, m->source, m->size, chunk.c_str()) != LUA_OK) return lua_error(L);
  lua_pushstring(L, chunk.c_str() + 1);
  return 2;
}

}  // namespace

void hold_callback(lua_State *L, int *ref) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  if (*ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, *ref);
  *ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

bool check_address(lua_State *L, int idx, bool empty_host_is_any, SockAddr *out) {
  size_t len;
  const char *text = luaL_checklstring(L, idx, &len);
  if (parse_address(std::string_view(text, len), empty_host_is_any, out)) return true;
  lua_pushnil(L);
  lua_pushfstring(L, "invalid address:%s", text);
  return false;
}

int push_id(lua_State *L, int64_t id) {
  if (id < 0) {
    lua_pushnil(L);
    lua_pushstring(L, socket_strerror(static_cast<int>(id)));
    return 2;
  }
  lua_pushinteger(L, id);
  return 1;
}

void install_builtin_modules(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, open_silly_core);
  lua_setfield(L, -2, "silly.c");
  lua_pushcfunction(L, open_silly_net);
  lua_setfield(L, -2, "silly.net.c");
  lua_pushcfunction(L, open_silly_logger);
  lua_setfield(L, -2, "silly.logger.c");
  lua_pushcfunction(L, open_silly_cluster);
  lua_setfield(L, -2, "silly.cluster.c");
  lua_pushcfunction(L, open_silly_netpacket);
  lua_setfield(L, -2, "silly.netpacket");
  lua_pushcfunction(L, open_silly_tls);
  lua_setfield(L, -2, "silly.tls.c");
  lua_pushcfunction(L, open_silly_metrics);
  lua_setfield(L, -2, "silly.metrics.c");
  lua_pushcfunction(L, open_silly_base64);
  lua_setfield(L, -2, "silly.encoding.base64");
  lua_pushcfunction(L, open_silly_hive);
  lua_setfield(L, -2, "silly.hive.c");
  lua_pushcfunction(L, open_silly_budget);
  lua_setfield(L, -2, "silly.budget.c");
  lua_pushcfunction(L, open_silly_mysql);
  lua_setfield(L, -2, "silly.mysql.c");
  lua_pop(L, 1);
  preload_batteries(L);

  // Right after the preload searcher, before any file on disk.
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "searchers");
  lua_Integer n = luaL_len(L, -1);
  for (lua_Integer i = n; i >= 2; i--) {
    lua_rawgeti(L, -1, i);
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushcfunction(L, search_embedded);
  lua_rawseti(L, -2, 2);
  lua_pop(L, 2);
}

}  // namespace silly
