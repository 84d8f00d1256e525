/* A microsecond clock for bench/cluster/client.lua when it runs on a
 * runtime without time.monotonic_us (the original framework, as a
 * baseline). Built by bench/cluster/run.sh against that runtime's Lua. */
#include <time.h>

#include "lauxlib.h"
#include "lua.h"

static int now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushinteger(L, (lua_Integer)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
  return 1;
}

int luaopen_usclock(lua_State *L) {
  luaL_Reg fns[] = {{"now", now}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
