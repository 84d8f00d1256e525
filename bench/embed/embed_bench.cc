// Embedding costs, each against a baseline from the same run:
//  (l) post round trips per second: a thread posts, silly (on its own
//      thread) replies, the thread waits for the reply, again; against two
//      bare threads handing a message back and forth with a mutex and a
//      condition variable.
//  (m) sequential cluster calls per second inside one process when the
//      host drives the loop, with step(-1), or with its own poll on
//      backend_fd and next_timeout then step(0), against silly's run().
//   embed_bench [SECONDS]
#include <poll.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <lua.hpp>
#include <mutex>
#include <string>
#include <thread>

#include "silly/lua_api/runtime.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

double post_round_trips(double secs) {
  silly::Runtime rt;
  std::thread loop([&] {
    rt.run_string("local silly = require 'silly'; silly.onpost(function(t, id) silly.reply(id, t) end)", "=echo");
  });
  uint64_t id;
  std::string text;
  long n = 0;
  auto start = Clock::now();
  while (seconds_since(start) < secs) {
    rt.post("ping");
    if (!rt.take_reply(&id, &text, 5000)) break;
    n++;
  }
  double rate = n / seconds_since(start);
  rt.stop(0);
  loop.join();
  return rate;
}

double bare_round_trips(double secs) {
  std::mutex mu;
  std::condition_variable cv;
  int turn = 0;  // 0: the poster's, 1: the other thread's
  bool done = false;
  std::thread other([&] {
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return turn == 1 || done; });
      if (done) return;
      turn = 0;
      cv.notify_all();
    }
  });
  long n = 0;
  auto start = Clock::now();
  while (seconds_since(start) < secs) {
    std::unique_lock<std::mutex> lock(mu);
    turn = 1;
    cv.notify_all();
    cv.wait(lock, [&] { return turn == 0; });
    n++;
  }
  double rate = n / seconds_since(start);
  {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
  }
  cv.notify_all();
  other.join();
  return rate;
}

// Sequential calls between two instances of one process for `secs`; sets
// the global `calls` and exits.
const char kCalls[] = R"(
local silly = require "silly"
local time = require "silly.time"
local tcp = require "silly.net.tcp"
local cluster = require "silly.net.cluster"
local secs = ...
local function codec(_, cmd, body) return cmd, body end
local function decode(_, _, p, n) return silly.tostring(p, n) end
local a = cluster.new {marshal = codec, unmarshal = decode, close = function() end, call = function(b) return b end}
local b = cluster.new {marshal = codec, unmarshal = decode, close = function() end, call = function() end}
local fd = assert(b.connect(tcp.sockname(assert(a.listen("127.0.0.1:0")))))
calls = 0
local stop = time.monotonic() + secs * 1000
while time.monotonic() < stop do
  b.call(fd, 1, "0123456789abcdef")
  calls = calls + 1
end
silly.exit(0)
)";

enum class Drive { kRun, kStepOnce, kHostPoll };

double calls_per_second(double secs, Drive drive) {
  silly::Runtime rt;
  lua_State *L = rt.lua();
  std::string chunk = std::string("return (function(...) ") + kCalls + " end)(" + std::to_string(secs) + ")";
  auto start = Clock::now();
  if (drive == Drive::kRun) {
    rt.run_string(chunk, "=calls");
  } else {
    if (rt.start_string(chunk, "=calls") != 0) return 0;
    for (;;) {
      if (drive == Drive::kHostPoll) {
        // The host's own poll on silly's descriptor, then a step that waits
        // no more: the way to put silly inside another loop.
        struct pollfd p = {rt.backend_fd(), POLLIN, 0};
        poll(&p, 1, rt.next_timeout());
        if (!rt.step(0)) break;
      } else if (!rt.step(-1)) {  // silly waits itself, one turn per call
        break;
      }
    }
  }
  double elapsed = seconds_since(start);
  lua_getglobal(L, "calls");
  double n = static_cast<double>(lua_tointeger(L, -1));
  lua_pop(L, 1);
  return n / elapsed;
}

}  // namespace

int main(int argc, char **argv) {
  double secs = argc > 1 ? std::atof(argv[1]) : 3;
  double bare = 0, posts = 0, run = 0, step = 0, hosted = 0;
  for (int round = 0; round < 2; round++) {  // alternating, summed
    bare += bare_round_trips(secs / 2);
    posts += post_round_trips(secs / 2);
    run += calls_per_second(secs / 2, Drive::kRun);
    step += calls_per_second(secs / 2, Drive::kStepOnce);
    hosted += calls_per_second(secs / 2, Drive::kHostPoll);
  }
  std::printf("embedding benchmarks: 2 rounds of %.1fs each\n", secs / 2);
  std::printf("  (l) post round trips/s      silly %.0f | bare mutex+condvar threads %.0f | ratio %.2f\n", posts / 2,
              bare / 2, posts / bare);
  std::printf("  (m) sequential calls/s      run() %.0f (%.1f us a call)\n", run / 2, 2e6 / run);
  std::printf("      step(-1) in a host loop %.0f (%.1f us) | ratio %.2f\n", step / 2, 2e6 / step, step / run);
  std::printf("      host poll + step(0)     %.0f (%.1f us) | ratio %.2f\n", hosted / 2, 2e6 / hosted, hosted / run);
  return 0;
}
