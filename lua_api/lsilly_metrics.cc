// silly.metrics.c: what the built-in metric collectors read from the
// process, the allocator and the loop. Each function returns a table of
// numbers; silly.metrics.collectors names them and keeps their meaning.
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "silly/core/poller.h"
#include "silly/lua_api/host.h"
#include "silly/lua_api/modules.h"

#ifndef SILLY_NO_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

namespace silly {

namespace {

void set_number(lua_State *L, const char *name, lua_Number v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, name);
}

void set_integer(lua_State *L, const char *name, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, name);
}

// The machine's boot time in seconds since the epoch (/proc/stat btime).
long long boot_time() {
  FILE *f = std::fopen("/proc/stat", "r");
  if (f == nullptr) return 0;
  char line[256];
  long long btime = 0;
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::sscanf(line, "btime %lld", &btime) == 1) break;
  }
  std::fclose(f);
  return btime;
}

int open_fds() {
  DIR *d = opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  int n = 0;
  while (readdir(d) != nullptr) n++;
  closedir(d);
  return n - 3;  // ".", ".." and the directory's own descriptor
}

// process() -> {cpu_seconds, resident_bytes, virtual_bytes, open_fds,
// max_fds, start_time_seconds}; fields it cannot read are left out.
int l_process(lua_State *L) {
  lua_createtable(L, 0, 6);
  double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  FILE *f = std::fopen("/proc/self/stat", "r");
  if (f != nullptr) {
    char buf[1024];
    size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    // Fields after the command name, which is in parentheses and may hold
    // spaces: state is field 3, utime 14, stime 15, starttime 22, vsize 23.
    const char *p = std::strrchr(buf, ')');
    unsigned long long utime, stime, start, vsize;
    long long rss;
    if (p != nullptr && std::sscanf(p + 2,
                                    "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d "
                                    "%llu %llu %lld",
                                    &utime, &stime, &start, &vsize, &rss) == 5) {
      set_number(L, "cpu_seconds", static_cast<double>(utime + stime) / tick);
      set_number(L, "start_time_seconds", static_cast<double>(boot_time()) + static_cast<double>(start) / tick);
      set_integer(L, "virtual_bytes", static_cast<lua_Integer>(vsize));
      set_integer(L, "resident_bytes", static_cast<lua_Integer>(rss * sysconf(_SC_PAGESIZE)));
    }
  }
  int fds = open_fds();
  if (fds >= 0) set_integer(L, "open_fds", fds);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) set_integer(L, "max_fds", static_cast<lua_Integer>(rl.rlim_cur));
  return 1;
}

// jemalloc() -> {allocated, active, resident, mapped, retained} in bytes,
// or nothing in a build without jemalloc.
int l_jemalloc(lua_State *L) {
#ifndef SILLY_NO_JEMALLOC
  uint64_t epoch = 1;
  size_t sz = sizeof(epoch);
  mallctl("epoch", &epoch, &sz, &epoch, sz);  // refreshes the statistics
  lua_createtable(L, 0, 5);
  for (const char *name : {"allocated", "active", "resident", "mapped", "retained"}) {
    size_t v = 0;
    sz = sizeof(v);
    std::string key = std::string("stats.") + name;
    if (mallctl(key.c_str(), &v, &sz, nullptr, 0) == 0) set_integer(L, name, static_cast<lua_Integer>(v));
  }
  return 1;
#else
  (void)L;
  return 0;
#endif
}

// runtime() -> the loop's and the sockets' counters; lag_max_us is the
// largest timer lag since the previous call.
int l_runtime(lua_State *L) {
  LuaHost *host = LuaHost::from(L);
  EventLoop &loop = host->loop();
  SocketManager &sm = host->sockets();
  const EventLoop::Stats &st = loop.stats();
  SocketManager::Census c = sm.census();
  lua_createtable(L, 0, 13);
  set_integer(L, "timers", static_cast<lua_Integer>(loop.timer_count()));
  set_integer(L, "iterations", static_cast<lua_Integer>(st.iterations));
  set_integer(L, "timers_fired", static_cast<lua_Integer>(st.timers_fired));
  set_integer(L, "lag_total_us", static_cast<lua_Integer>(st.lag_total_us));
  set_integer(L, "lag_max_us", static_cast<lua_Integer>(loop.take_lag_max()));
  set_integer(L, "bytes_read", static_cast<lua_Integer>(sm.bytes_read()));
  set_integer(L, "bytes_written", static_cast<lua_Integer>(sm.bytes_written()));
  set_integer(L, "listening", static_cast<lua_Integer>(c.listening));
  set_integer(L, "connecting", static_cast<lua_Integer>(c.connecting));
  set_integer(L, "streams", static_cast<lua_Integer>(c.streams));
  set_integer(L, "tls_streams", static_cast<lua_Integer>(c.tls_streams));
  set_integer(L, "udp", static_cast<lua_Integer>(c.udp));
  return 1;
}

// pollapi() -> "epoll" or "kqueue" (the original framework's name).
int l_pollapi(lua_State *L) {
  lua_pushstring(L, Poller::backend());
  return 1;
}

// netstat() -> tcp connections, bytes sent, bytes received, and two
// counters of the original framework's request queue that this runtime
// does not have (always 0, so that their difference, work in flight, is 0).
int l_netstat(lua_State *L) {
  SocketManager &sm = LuaHost::from(L)->sockets();
  SocketManager::Census c = sm.census();
  lua_pushinteger(L, static_cast<lua_Integer>(c.streams + c.tls_streams));
  lua_pushinteger(L, static_cast<lua_Integer>(sm.bytes_written()));
  lua_pushinteger(L, static_cast<lua_Integer>(sm.bytes_read()));
  lua_pushinteger(L, 0);
  lua_pushinteger(L, 0);
  return 5;
}

}  // namespace

int open_silly_metrics(lua_State *L) {
  const luaL_Reg fns[] = {
      {"process", l_process}, {"jemalloc", l_jemalloc}, {"runtime", l_runtime},
      {"pollapi", l_pollapi}, {"netstat", l_netstat},   {nullptr, nullptr},
  };
  luaL_newlib(L, fns);
  return 1;
}

}  // namespace silly
