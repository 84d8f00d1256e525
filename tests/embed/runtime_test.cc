// The embedding API: modules added by the host, exit codes, load errors,
// and stopping from another thread.
#include "lua_api/runtime.h"

#include <gtest/gtest.h>

#include <chrono>
#include <lua.hpp>
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

}  // namespace
