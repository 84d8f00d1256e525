#include "silly/lua_api/runtime.h"

#include <unistd.h>

#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "silly/lua_api/host.h"
#include "silly/lua_api/modules.h"

#ifndef SILLY_NO_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

namespace silly {

namespace {

// The binary's own path, links resolved; empty where it cannot be told.
std::string exe_path() {
#ifdef __linux__
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n > 0) return std::string(buf, static_cast<size_t>(n));
#endif
  return "";
}

std::string exe_dir() {
  std::string path = exe_path();
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// Local folders first (as the original framework did), then what the
// caller added, then Lua's own defaults.
void set_search_path(lua_State *L, const char *field, const std::string &ours, const std::string &user) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, field);
  std::string path = ours;
  if (!user.empty()) path += ";" + user;
  path += ";";
  path += lua_tostring(L, -1);
  lua_pop(L, 1);
  lua_pushlstring(L, path.data(), path.size());
  lua_setfield(L, -2, field);
  lua_pop(L, 1);
}

}  // namespace

namespace {

// Freed memory goes back to the system about a second after it is freed,
// by jemalloc's own background thread, so an idle node that just lost a
// wave of connections shrinks without waiting for more allocations.
void tune_allocator() {
#ifndef SILLY_NO_JEMALLOC
  bool on = true;
  mallctl("background_thread", nullptr, nullptr, &on, sizeof(on));
  ssize_t decay_ms = 1000;
  mallctl("arenas.dirty_decay_ms", nullptr, nullptr, &decay_ms, sizeof(decay_ms));
  mallctl("arenas.muzzy_decay_ms", nullptr, nullptr, &decay_ms, sizeof(decay_ms));
  char name[64];
  unsigned narenas = 0;
  size_t len = sizeof(narenas);
  if (mallctl("arenas.narenas", &narenas, &len, nullptr, 0) != 0) return;
  for (unsigned i = 0; i < narenas; i++) {
    std::snprintf(name, sizeof(name), "arena.%u.dirty_decay_ms", i);
    mallctl(name, nullptr, nullptr, &decay_ms, sizeof(decay_ms));
    std::snprintf(name, sizeof(name), "arena.%u.muzzy_decay_ms", i);
    mallctl(name, nullptr, nullptr, &decay_ms, sizeof(decay_ms));
  }
#endif
}

}  // namespace

Runtime::Runtime(RuntimeOptions options) : host_(std::make_unique<LuaHost>(options)) {
  tune_allocator();
  // A write to a peer that hung up must fail with EPIPE, not end the process.
  host_->loop().ignore_signal(SIGPIPE);
  for (const std::string &arg : options.args) {
    static const char kSpin[] = "--sys.loop.spin_us=";
    if (arg.compare(0, sizeof(kSpin) - 1, kSpin) == 0)
      host_->loop().set_spin(std::atoi(arg.c_str() + sizeof(kSpin) - 1));
  }
  lua_State *L = host_->L();
  luaL_openlibs(L);
  std::string dir = exe_dir();
  set_search_path(L, "path", "./lualib/?.lua;" + dir + "/lualib/?.lua", options.lualib_path);
  // `codecs/?/?.so` finds plugins where Bazel builds them, beside the
  // binary; a host built in another workspace finds them in its runfiles
  // when it lists them as data (@silly//codecs/msgpack:msgpack.so).
  std::string runfiles = exe_path() + ".runfiles";
  if (const char *env = std::getenv("RUNFILES_DIR")) runfiles = env;
  set_search_path(
      L, "cpath",
      "./luaclib/?.so;" + dir + "/luaclib/?.so;" + dir + "/codecs/?/?.so;" + runfiles + "/silly/codecs/?/?.so",
      options.lualib_cpath);
  install_builtin_modules(L);
}

Runtime::~Runtime() = default;

lua_State *Runtime::lua() {
  return host_->L();
}

void Runtime::add_module(const std::string &name, lua_CFunction open) {
  lua_State *L = host_->L();
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, open);
  lua_setfield(L, -2, name.c_str());
  lua_pop(L, 1);
}

void Runtime::stop(int exit_code) {
  host_->request_exit_async(exit_code);
}

int Runtime::run_file(const std::string &path) {
  return run_started(start_file(path));
}

int Runtime::run_string(const std::string &chunk, const std::string &chunk_name) {
  return run_started(start_string(chunk, chunk_name));
}

int Runtime::run_started(int start_status) {
  if (start_status != 0) return 1;
  host_->loop().run();
  return host_->exit_code();
}

int Runtime::start_file(const std::string &path) {
  return start_loaded(luaL_loadfile(host_->L(), path.c_str()));
}

int Runtime::start_string(const std::string &chunk, const std::string &chunk_name) {
  return start_loaded(luaL_loadbuffer(host_->L(), chunk.data(), chunk.size(), chunk_name.c_str()));
}

bool Runtime::step(int timeout_ms) {
  return started_ && host_->loop().step(timeout_ms);
}

int Runtime::backend_fd() const {
  return host_->loop().backend_fd();
}

int Runtime::next_timeout() const {
  return host_->loop().next_timeout();
}

int Runtime::exit_code() const {
  return host_->exit_code();
}

bool Runtime::fork(int nargs) {
  lua_State *L = host_->L();
  if (!started_ || host_->loop().stopping()) {
    lua_pop(L, nargs + 1);
    return false;
  }
  lua_getglobal(L, "require");
  lua_pushliteral(L, "silly");
  lua_call(L, 1, 1);  // loaded by start_*: no error here
  lua_getfield(L, -1, "_host_fork");
  lua_remove(L, -2);
  lua_insert(L, -(nargs + 2));  // under the function and its arguments
  if (lua_pcall(L, nargs + 1, 0, 0) != LUA_OK) {
    error_ = lua_tostring(L, -1);
    lua_pop(L, 1);
    return false;
  }
  return true;
}

uint64_t Runtime::post(std::string text) {
  return host_->mailbox().post(std::move(text));
}

bool Runtime::take_reply(uint64_t *id, std::string *text, int wait_ms) {
  Mailbox::Message m;
  if (!host_->mailbox().take_reply(&m, wait_ms)) return false;
  *id = m.id;
  *text = std::move(m.text);
  return true;
}

int Runtime::start_loaded(int load_status) {
  lua_State *L = host_->L();
  if (load_status != LUA_OK) {
    error_ = lua_tostring(L, -1);
    lua_pop(L, 1);
    return 1;
  }
  // silly._start runs the chunk as the first task and drains the run queue.
  lua_getglobal(L, "require");
  lua_pushliteral(L, "silly");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    error_ = lua_tostring(L, -1);
    lua_pop(L, 2);
    return 1;
  }
  lua_getfield(L, -1, "_start");
  lua_pushvalue(L, -3);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    error_ = lua_tostring(L, -1);
    lua_pop(L, 3);
    return 1;
  }
  lua_pop(L, 2);
  started_ = true;
  return 0;
}

}  // namespace silly
