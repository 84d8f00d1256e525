// A game server that embeds silly: it adds its own Lua C module, runs a
// script on the runtime's loop, and stops it from its own thread.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <lua.hpp>
#include <thread>

#include "silly/lua_api/runtime.h"

namespace {

std::atomic<int> g_players{0};

// game.players() -> the host's player count; game.join() adds one.
int l_players(lua_State *L) {
  lua_pushinteger(L, g_players.load());
  return 1;
}

int l_join(lua_State *L) {
  lua_pushinteger(L, ++g_players);
  return 1;
}

int open_game(lua_State *L) {
  const luaL_Reg fns[] = {{"players", l_players}, {"join", l_join}, {nullptr, nullptr}};
  luaL_newlib(L, fns);
  return 1;
}

const char kScript[] = R"(
local time = require "silly.time"
local game = require "game"
for i = 1, 3 do
  game.join()
  print("tick " .. i .. ": players " .. game.players())
  time.sleep(10)
end
print("script idles until the host stops it")
)";

}  // namespace

int main() {
  silly::Runtime runtime;
  runtime.add_module("game", open_game);
  // The host decides when the server ends: here after half a second.
  std::thread stopper([&runtime] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    runtime.stop(0);
  });
  int code = runtime.run_string(kScript, "=game");
  stopper.join();
  if (!runtime.error().empty()) std::fprintf(stderr, "game_host: %s\n", runtime.error().c_str());
  std::printf("host: runtime stopped with %d, %d players\n", code, g_players.load());
  return code;
}
