/* test.aux.c: the small C module that the original framework's test helper
 * (test/testaux.lua) loads, written for this project so that those test
 * files run unchanged on our runtime. It is loaded in hive workers too,
 * so it is plain C against Lua's API only.
 *
 * recv(fd, n) -> string: reads exactly n bytes from a blocking socket (the
 * helper calls it on a thread), or nil and the error's text. */
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <string.h>
#include <sys/socket.h>

static int aux_recv(lua_State *L) {
  int fd = (int)luaL_checkinteger(L, 1);
  size_t want = (size_t)luaL_checkinteger(L, 2);
  luaL_Buffer b;
  char *out = luaL_buffinitsize(L, &b, want);
  size_t got = 0;
  while (got < want) {
    ssize_t r = recv(fd, out + got, want - got, 0);
    if (r > 0) {
      got += (size_t)r;
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else {
      lua_pushnil(L);
      lua_pushstring(L, r == 0 ? "end of stream" : strerror(errno));
      return 2;
    }
  }
  luaL_pushresultsize(&b, got);
  return 1;
}

int luaopen_test_aux_c(lua_State *L) {
  const luaL_Reg fns[] = {{"recv", aux_recv}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
