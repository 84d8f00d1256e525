// The embedding API: modules added by the host, exit codes, load errors,
// and stopping from another thread.
#include "silly/lua_api/runtime.h"

#include <gtest/gtest.h>

#include <chrono>
#include <lua.hpp>
#include <string>
#include <thread>

namespace {

int g_calls = 0;

int l_ping(lua_State *L) {
  g_calls++;
  lua_pushstring(L, "pong");
  return 1;
}

int open_host(lua_State *L) {
  const luaL_Reg fns[] = {{"ping", l_ping}, {nullptr, nullptr}};
  luaL_newlib(L, fns);
  return 1;
}

TEST(Runtime, HostModuleIsRequirableAndExitCodeReturned) {
  silly::Runtime rt;
  rt.add_module("host", open_host);
  g_calls = 0;
  int code = rt.run_string(R"(
    local silly = require "silly"
    local time = require "silly.time"
    assert(require "host".ping() == "pong")
    time.sleep(1)  -- the first chunk is a task: it may yield
    silly.exit(9)
  )",
                           "=test");
  EXPECT_EQ(rt.error(), "");
  EXPECT_EQ(code, 9);
  EXPECT_EQ(g_calls, 1);
}

TEST(Runtime, LoadErrorIsReported) {
  silly::Runtime rt;
  EXPECT_EQ(rt.run_string("local = 1", "=broken"), 1);
  EXPECT_NE(rt.error().find("broken:1:"), std::string::npos) << rt.error();
  silly::Runtime rt2;
  EXPECT_EQ(rt2.run_file("/nonexistent/script.lua"), 1);
  EXPECT_NE(rt2.error().find("/nonexistent/script.lua"), std::string::npos);
}

TEST(Runtime, StopFromAnotherThread) {
  silly::Runtime rt;
  std::thread t([&rt] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    rt.stop(3);
  });
  auto start = std::chrono::steady_clock::now();
  int code = rt.run_string("require 'silly.time'.sleep(60000)", "=idle");
  t.join();
  EXPECT_EQ(code, 3);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(Runtime, TwoRuntimesOneAfterTheOther) {
  for (int i = 0; i < 2; i++) {
    silly::Runtime rt;
    EXPECT_EQ(rt.run_string("require 'silly'.exit(4)", "=again"), 4);
  }
}

TEST(Runtime, StepDrivesTheLoopAndForkRunsATaskNow) {
  silly::Runtime rt;
  lua_State *L = rt.lua();
  lua_pushnil(L);
  EXPECT_FALSE(rt.fork(0)) << "not started yet";
  ASSERT_EQ(rt.start_string(R"(
    local time = require "silly.time"
    ticks = 0
    function bump(n) ticks = ticks + n end
    function later() time.sleep(20); ticks = ticks + 100 end
    function many(...) args = select("#", ...) .. ":" .. table.concat({...}, ",") end
  )",
                            "=step"),
            0);
  EXPECT_GE(rt.backend_fd(), 0);
  lua_getglobal(L, "bump");
  lua_pushinteger(L, 5);
  ASSERT_TRUE(rt.fork(1));
  lua_getglobal(L, "ticks");
  EXPECT_EQ(lua_tointeger(L, -1), 5) << "the task ran before fork returned";
  lua_pop(L, 1);
  lua_getglobal(L, "many");  // more arguments than a task's entry takes
  for (int i = 1; i <= 5; i++) lua_pushinteger(L, i);
  ASSERT_TRUE(rt.fork(5));
  lua_getglobal(L, "args");
  EXPECT_STREQ(lua_tostring(L, -1), "5:1,2,3,4,5");
  lua_pop(L, 1);
  lua_getglobal(L, "later");
  ASSERT_TRUE(rt.fork(0));
  int t = rt.next_timeout();
  EXPECT_GT(t, 0) << "a 20 ms timer is pending";
  EXPECT_LE(t, 20);
  // Stepping with waits reaches the timer; the host never blocks longer.
  for (int i = 0; i < 1000; i++) {
    lua_getglobal(L, "ticks");
    bool done = lua_tointeger(L, -1) == 105;
    lua_pop(L, 1);
    if (done) break;
    ASSERT_TRUE(rt.step(rt.next_timeout()));
  }
  lua_getglobal(L, "ticks");
  EXPECT_EQ(lua_tointeger(L, -1), 105);
  lua_pop(L, 1);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "silly");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "exit");
  lua_remove(L, -2);
  lua_pushinteger(L, 7);
  ASSERT_TRUE(rt.fork(1));
  EXPECT_FALSE(rt.step(0)) << "silly.exit ended it";
  EXPECT_EQ(rt.exit_code(), 7);
}

TEST(Runtime, PostsFromAThreadArriveInOrderAndRepliesComeBack) {
  silly::Runtime rt;
  constexpr int kPosts = 2000;
  int code = -1;
  // Posted before the loop runs and before any handler: nothing is lost.
  for (int i = 1; i <= kPosts; i++) rt.post(std::to_string(i));
  std::thread loop([&] {
    code = rt.run_string(R"(
      local silly = require "silly"
      local expect = 1
      silly.onpost(function(text, id)
        if tonumber(text) ~= expect or id ~= expect then error("out of order: " .. text) end
        expect = expect + 1
        silly.reply(id, "ok " .. text)
      end)
    )",
                         "=posts");
  });
  int got = 0;
  uint64_t id;
  std::string text;
  while (got < kPosts && rt.take_reply(&id, &text, 10000)) {
    got++;
    EXPECT_EQ(text, "ok " + std::to_string(id));
  }
  EXPECT_EQ(got, kPosts);
  EXPECT_FALSE(rt.take_reply(&id, &text, 0)) << "nothing more";
  rt.stop(0);
  loop.join();
  EXPECT_EQ(code, 0);
}

// A host outside silly's tree lists a plugin as data; it is found in the
// host's runfiles, not beside silly's own binary.
TEST(Runtime, PluginsAreFoundInTheHostsRunfiles) {
  silly::Runtime rt;
  EXPECT_EQ(rt.run_string(R"(
    local skeleton = require "skeleton"
    require("silly").exit(skeleton.decode(skeleton.encode({"x"}))[1] == "x" and 5 or 6)
  )",
                          "=plugin"),
            5)
      << rt.error();
}

TEST(Runtime, AnErrorInTheMainScriptEndsItWithOne) {
  silly::Runtime rt;
  EXPECT_EQ(rt.run_string("local t = nil; return t.x", "=fails"), 1);
}

}  // namespace
