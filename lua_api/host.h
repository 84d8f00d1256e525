// What the Lua bindings share: the loop, the Lua state, and the bridge that
// turns loop events into calls of the scheduler's dispatch function.
#pragma once

#include <atomic>
#include <cstdint>
#include <lua.hpp>
#include <memory>
#include <string>
#include <unordered_map>

#include "core/event_loop.h"
#include "lua_api/runtime.h"

namespace silly {

// Event kinds passed as the first argument of the Lua dispatch function.
enum LuaEvent : int {
  kEvAccept = 1,   // listener, conn, "ip:port"
  kEvConnect = 2,  // id, err (0: connected)
  kEvData = 3,     // stream: id; raw: id, ptr, size
  kEvClose = 4,    // id, err (0: orderly end)
  kEvUdp = 5,      // id, data, "ip:port"
  kEvTimer = 6,    // timer id
  kEvSignal = 7,   // signal number
};

// How a socket's bytes reach Lua.
enum SocketMode : int {
  kModeStream = 0,   // stay in the receive ring; scripts read them (tcp)
  kModeRaw = 1,      // handed over as malloc'd (ptr, size) (silly.net)
  kModeCluster = 2,  // parsed into frames by the cluster binding
  kModeCount = 3,
};

// A binding that takes a socket mode's bytes straight from the ring, and
// may own timers: a timer whose cookie carries the mode in bits 40..47
// comes back to it with the low 40 bits.
class ModeConsumer {
 public:
  virtual ~ModeConsumer() = default;
  virtual void on_data(SocketId id, RingBuffer &in) = 0;
  virtual void on_timer(uint64_t payload) = 0;
};

constexpr int kTimerTagShift = 40;
constexpr uint64_t kTimerPayloadMask = (uint64_t{1} << kTimerTagShift) - 1;

class LuaHost : public LoopHandler, public SocketHandler {
 public:
  explicit LuaHost(const RuntimeOptions &options);
  ~LuaHost() override;

  static LuaHost *from(lua_State *L) { return *static_cast<LuaHost **>(lua_getextraspace(L)); }

  lua_State *L() const { return L_; }
  EventLoop &loop() { return loop_; }
  SocketManager &sockets() { return loop_.sockets(); }
  const RuntimeOptions &options() const { return options_; }

  void set_dispatch(int ref) { dispatch_ref_ = ref; }
  // The host keeps the consumer until it is destroyed, after Lua is closed.
  void install(int mode, std::unique_ptr<ModeConsumer> consumer) { consumers_[mode] = std::move(consumer); }
  ModeConsumer *consumer(int mode) const { return consumers_[mode].get(); }
  void set_socket_mode(SocketId id, int mode) { modes_[id] = mode; }
  void forget_socket(SocketId id) { modes_.erase(id); }

  // Requested by silly.exit, a signal or Runtime::stop.
  void request_exit(int code);
  int exit_code() const { return exit_code_; }
  // Called from signal handlers or other threads.
  void request_exit_async(int code);

  // LoopHandler
  void on_timer(TimerQueue::Id id, uint64_t cookie) override;
  void on_signal(int signo) override;
  // SocketHandler
  void on_accept(SocketId listener, SocketId conn, const std::string &peer) override;
  void on_connect(SocketId id, int err) override;
  void on_data(SocketId id, RingBuffer &in) override;
  void on_close(SocketId id, int err) override;
  void on_datagram(SocketId id, const uint8_t *data, size_t n, const SockAddr &from) override;

 private:
  // Pushes the dispatch function and the event kind; call() runs it.
  bool begin(int kind);
  void call(int nargs);

  RuntimeOptions options_;
  EventLoop loop_;
  std::unique_ptr<ModeConsumer> consumers_[kModeCount];
  lua_State *L_ = nullptr;
  int dispatch_ref_ = LUA_NOREF;
  std::atomic<int> exit_code_{0};
  std::unordered_map<SocketId, int> modes_;
};

}  // namespace silly
