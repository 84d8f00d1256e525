// What the Lua bindings share: the loop, the sockets, the Lua state, and
// the one way into Lua: dispatch(f, ...) runs f(...) and then the tasks it
// woke. Each binding registers its own Lua function and is the owner of its
// own sockets and timers; the host owns the Lua timers and the signals.
#pragma once

#include <atomic>
#include <cstdint>
#include <lua.hpp>
#include <memory>
#include <string>
#include <vector>

#include "silly/core/event_loop.h"
#include "silly/core/socket.h"
#include "silly/lua_api/mailbox.h"
#include "silly/lua_api/runtime.h"

namespace silly {

// A binding's state that lives as long as the host: destroyed after the Lua
// state is closed and before the sockets and the loop.
class HostPart {
 public:
  virtual ~HostPart() = default;
};

class LuaHost : private TimerOwner, private SignalOwner {
 public:
  explicit LuaHost(const RuntimeOptions &options);
  ~LuaHost();
  LuaHost(const LuaHost &) = delete;
  LuaHost &operator=(const LuaHost &) = delete;

  static LuaHost *from(lua_State *L) { return *static_cast<LuaHost **>(lua_getextraspace(L)); }

  lua_State *L() const { return L_; }
  EventLoop &loop() { return loop_; }
  SocketManager &sockets() { return sockets_; }
  const RuntimeOptions &options() const { return options_; }

  // The scheduler's dispatch(f, ...) (silly.lua).
  void set_dispatch(int ref) { dispatch_ref_ = ref; }
  // Pushes dispatch and the function `fn_ref`; the caller pushes the
  // arguments and calls call(). False (nothing pushed) while stopping or
  // before the scheduler is up.
  bool begin(int fn_ref);
  void call(int nargs);

  // Lua timers: time.lua's function gets the id of each that fires.
  TimerId add_lua_timer(int64_t delay_ms) { return loop_.add_timer(delay_ms, this, 0); }
  void set_timer_function(int ref) { timer_ref_ = ref; }
  void set_signal_function(int ref) { signal_ref_ = ref; }
  // silly.onpost's function gets (text, id) of each message posted from
  // another thread (Runtime::post).
  // Messages posted before it is set wait for it.
  void set_post_function(int ref) {
    post_ref_ = ref;
    mailbox_->redeliver(std::move(held_posts_));
    held_posts_.clear();
  }
  Mailbox &mailbox() { return *mailbox_; }

  // The host keeps `part` until it is destroyed; found again by name.
  HostPart *attach(const char *name, std::unique_ptr<HostPart> part);
  HostPart *part(const char *name) const;

  // Requested by silly.exit, a signal or Runtime::stop.
  void request_exit(int code);
  int exit_code() const { return exit_code_; }
  // Called from signal handlers or other threads.
  void request_exit_async(int code);

 private:
  void on_timer(TimerId id, uint64_t arg) override;
  void on_signal(int signo) override;

  RuntimeOptions options_;
  EventLoop loop_;
  SocketManager sockets_;
  std::vector<std::pair<std::string, std::unique_ptr<HostPart>>> parts_;
  lua_State *L_ = nullptr;
  int dispatch_ref_ = LUA_NOREF;
  int timer_ref_ = LUA_NOREF;
  int signal_ref_ = LUA_NOREF;
  int post_ref_ = LUA_NOREF;
  std::atomic<int> exit_code_{0};
  std::unique_ptr<Mailbox> mailbox_;          // after the loop: it registers there
  std::vector<Mailbox::Message> held_posts_;  // posted before silly.onpost
};

}  // namespace silly
