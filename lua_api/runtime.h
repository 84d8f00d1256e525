// Embedding API: a game server creates a Runtime, adds its own Lua C
// modules, runs a script, and stops it. The `silly` binary is one such host.
//
// Threads: a Runtime belongs to the thread that runs it (run_*, or start_*
// then step): everything here is for that thread only, except stop(),
// post() and take_reply(), which any thread may call at any time.
//
// Two ways to run it:
//   run_file(path)                  silly's loop owns the thread until exit
//   start_file(path); step(ms)...   the host's loop calls step() as it likes
//                                   (uv_run NOWAIT/ONCE, aeProcessEvents),
//                                   and may poll backend_fd() with
//                                   next_timeout() inside its own poll.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "silly/core/socket.h"

struct lua_State;
typedef int (*lua_CFunction)(lua_State *L);

namespace silly {

class LuaHost;

struct RuntimeOptions {
  // ';'-separated '?' patterns searched before Lua's defaults.
  std::string lualib_path;
  std::string lualib_cpath;
  // Command-line words after the script; `--key=value` ones reach silly.env.
  std::vector<std::string> args;
  std::string loglevel = "info";
  SocketOptions sockets;
};

class Runtime {
 public:
  explicit Runtime(RuntimeOptions options = {});
  ~Runtime();
  Runtime(const Runtime &) = delete;
  Runtime &operator=(const Runtime &) = delete;

  // `require(name)` then returns what `open` returns. Call before run_*.
  void add_module(const std::string &name, lua_CFunction open);
  // Runs the chunk as the first task, then the loop until silly.exit(),
  // a terminating signal or stop(). Returns the exit code; a chunk that
  // fails to load returns 1 and leaves the message in error().
  int run_file(const std::string &path);
  int run_string(const std::string &chunk, const std::string &chunk_name);

  // Runs the chunk as the first task and returns: 0, or 1 with error() set
  // (a load error; an error the chunk raises ends it with exit_code() 1).
  int start_file(const std::string &path);
  int start_string(const std::string &chunk, const std::string &chunk_name);
  // One turn of the loop, waiting at most timeout_ms for events (0: not at
  // all; -1: until the next timer or event), then the writes it queued
  // leave. False once silly.exit(), a signal or stop() ended the runtime;
  // exit_code() then says with what.
  bool step(int timeout_ms);
  // Readable when silly has events; how long the host may wait before the
  // next step (ms to the next timer, -1: none, 0: step again now).
  int backend_fd() const;
  int next_timeout() const;
  int exit_code() const;
  // Runs the function under nargs arguments on lua()'s stack as a task now
  // (and what it wakes), popping them: how host code starts Lua work. False
  // when the runtime is not started or already ended (they are popped).
  bool fork(int nargs);

  // Any thread: queues `text` for silly.onpost's function, which runs as a
  // task on the loop thread; returns the message's id. Wake-ups merge.
  uint64_t post(std::string text);
  // Any thread: a reply (silly.reply(id, text) in Lua), waiting at most
  // wait_ms (0: only what is there; -1: until one comes).
  bool take_reply(uint64_t *id, std::string *text, int wait_ms = 0);

  // Safe from any thread and from signal handlers.
  void stop(int exit_code = 0);
  const std::string &error() const { return error_; }
  lua_State *lua();

 private:
  int start_loaded(int load_status);
  int run_started(int start_status);  // the loop, once start_* said 0
  bool started_ = false;
  std::unique_ptr<LuaHost> host_;
  std::string error_;
};

}  // namespace silly
