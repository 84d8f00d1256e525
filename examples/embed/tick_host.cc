// A game server whose own main loop runs at 30 Hz and drives silly: each
// tick it simulates, starts a Lua task that makes a cluster call
// (Runtime::fork), and until the next tick sleeps in poll() on silly's
// backend descriptor, stepping silly whenever it has work. silly never
// owns the thread.
//   tick_host [TICKS]      (default 90: three seconds)
#include <poll.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <lua.hpp>

#include "silly/lua_api/runtime.h"

namespace {

// One node's two sides in one process: a "battle" server and a "lobby"
// client; on_tick(n) calls the battle with the tick number.
const char kScript[] = R"(
local silly = require "silly"
local tcp = require "silly.net.tcp"
local cluster = require "silly.net.cluster"
local function codec(_, cmd, body) return cmd, body end
local function decode(_, _, p, n) return silly.tostring(p, n) end
local battle = cluster.new {marshal = codec, unmarshal = decode, close = function() end,
  call = function(body) return "moved " .. body end}
local lobby = cluster.new {marshal = codec, unmarshal = decode, close = function() end, call = function() end}
local addr = tcp.sockname(assert(battle.listen("127.0.0.1:0")))
local fd -- a peer handle would do too; a plain link keeps the example short
answered = 0
function on_tick(n)
  fd = fd or assert(lobby.connect(addr))  -- the first tick connects
  if lobby.call(fd, 1, tostring(n)) == "moved " .. n then
    answered = answered + 1
  end
end
)";

using Clock = std::chrono::steady_clock;

long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

}  // namespace

int main(int argc, char **argv) {
  int ticks = argc > 1 ? std::atoi(argv[1]) : 90;
  const auto period = std::chrono::microseconds(1000000 / 30);
  silly::Runtime rt;
  if (rt.start_string(kScript, "=tick_host") != 0) {
    std::fprintf(stderr, "tick_host: %s\n", rt.error().c_str());
    return 1;
  }
  lua_State *L = rt.lua();
  auto start = Clock::now();
  auto next = start;
  long long late_ms = 0;  // how far past its time the worst tick started
  for (int tick = 1; tick <= ticks; tick++) {
    long long late = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - next).count();
    if (late > late_ms) late_ms = late;
    next += period;
    // The game's own work for this tick would go here; then Lua's.
    lua_getglobal(L, "on_tick");
    lua_pushinteger(L, tick);
    if (!rt.fork(1)) {
      std::fprintf(stderr, "tick_host: on_tick failed: %s\n", rt.error().c_str());
      return 1;
    }
    // Until the next tick: sleep in poll on silly's descriptor, no longer
    // than silly's own next timer, and step it whenever it has work.
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now()).count();
      if (left <= 0) break;
      int wait = static_cast<int>(left);
      int t = rt.next_timeout();
      if (t >= 0 && t < wait) wait = t;
      struct pollfd p = {rt.backend_fd(), POLLIN, 0};
      poll(&p, 1, wait);
      if (!rt.step(0)) return rt.exit_code();
    }
  }
  while (rt.next_timeout() == 0) rt.step(0);  // the last tick's call
  for (int i = 0; i < 100 && rt.step(10); i++) {
    lua_getglobal(L, "answered");
    bool done = lua_tointeger(L, -1) == ticks;
    lua_pop(L, 1);
    if (done) break;
  }
  lua_getglobal(L, "answered");
  long long answered = lua_tointeger(L, -1);
  lua_pop(L, 1);
  std::printf("tick_host: %d ticks at 30 Hz in %lld ms, %lld of %d cluster calls answered, worst tick %lld ms late\n",
              ticks, ms_since(start), answered, ticks, late_ms);
  return answered == ticks ? 0 : 1;
}
