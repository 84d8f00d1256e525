// A game thread and silly on a thread of its own: the game posts a message
// each tick (Runtime::post, safe from any thread) and reads silly's replies
// at the start of the next (Runtime::take_reply), never blocking on silly.
// Lua receives each message as a task (silly.onpost) and answers with
// silly.reply; here it asks a cluster node for a score first.
//   thread_host [TICKS]      (default 60)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "silly/lua_api/runtime.h"

namespace {

const char kScript[] = R"(
local silly = require "silly"
local tcp = require "silly.net.tcp"
local cluster = require "silly.net.cluster"
local function codec(_, cmd, body) return cmd, body end
local function decode(_, _, p, n) return silly.tostring(p, n) end
local scores = cluster.new {marshal = codec, unmarshal = decode, close = function() end,
  call = function(body) return body .. ":" .. #body end}
local client = cluster.new {marshal = codec, unmarshal = decode, close = function() end, call = function() end}
local fd = assert(client.connect(tcp.sockname(assert(scores.listen("127.0.0.1:0")))))
silly.onpost(function(text, id)
  silly.reply(id, assert(client.call(fd, 1, text)))
end)
)";

}  // namespace

int main(int argc, char **argv) {
  int ticks = argc > 1 ? std::atoi(argv[1]) : 60;
  silly::Runtime rt;
  int code = -1;
  std::thread loop([&] { code = rt.run_string(kScript, "=thread_host"); });

  const auto period = std::chrono::microseconds(1000000 / 30);
  auto next = std::chrono::steady_clock::now();
  int answered = 0, wrong = 0;
  auto take = [&](int wait_ms) {
    uint64_t id;
    std::string text;
    while (rt.take_reply(&id, &text, wait_ms)) {
      std::string want = "tick " + std::to_string(id) + ":" + std::to_string(5 + std::to_string(id).size());
      (text == want ? answered : wrong)++;
      wait_ms = 0;
    }
  };
  for (int tick = 1; tick <= ticks; tick++) {
    take(0);  // what silly answered since the last tick
    uint64_t id = rt.post("tick " + std::to_string(tick));
    if (id != static_cast<uint64_t>(tick)) wrong++;  // ids count from 1
    next += period;
    std::this_thread::sleep_until(next);
  }
  for (int i = 0; i < 100 && answered + wrong < ticks; i++) take(100);
  rt.stop(0);
  loop.join();
  std::printf("thread_host: %d messages posted, %d answered right, %d wrong; silly's thread ended with %d\n", ticks,
              answered, wrong, code);
  return answered == ticks && wrong == 0 && code == 0 ? 0 : 1;
}
