// A game server embedding silly from another workspace: its own C module
// ("game"), a script from its runfiles, silly's codec plugins found there.
#include <cstdio>
#include <lua.hpp>

#include "silly/lua_api/runtime.h"

namespace {

int l_level(lua_State *L) {
  lua_pushinteger(L, 42);
  return 1;
}

int open_game(lua_State *L) {
  const luaL_Reg fns[] = {{"level", l_level}, {nullptr, nullptr}};
  luaL_newlib(L, fns);
  return 1;
}

}  // namespace

int main() {
  silly::Runtime rt;
  rt.add_module("game", open_game);
  int code = rt.run_file("main.lua");
  if (!rt.error().empty()) std::fprintf(stderr, "game_server: %s\n", rt.error().c_str());
  return code;
}
