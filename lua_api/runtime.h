// Embedding API: a game server creates a Runtime, adds its own Lua C
// modules, runs a script, and stops it. The `silly` binary is one such host.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/socket.h"

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
  // Safe from any thread and from signal handlers.
  void stop(int exit_code = 0);
  const std::string &error() const { return error_; }
  lua_State *lua();

 private:
  int run_loaded(int load_status);
  std::unique_ptr<LuaHost> host_;
  std::string error_;
};

}  // namespace silly
