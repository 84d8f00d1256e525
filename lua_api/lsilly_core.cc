// silly.c: what the scheduler in silly.lua and silly.time need from C++.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "silly/core/clock.h"
#include "silly/core/timer.h"
#include "silly/lua_api/host.h"
#include "silly/lua_api/modules.h"
#include "silly/lua_api/version.h"

#ifndef SILLY_NO_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

namespace silly {

namespace {

// The wall clock is read once; later readings advance it by the monotonic
// clock, so a stepped system clock never makes time go backwards here.
const int64_t g_start_mono = monotonic_us();
const int64_t g_start_wall = wall_us();
uint32_t g_genid = 0;
uint16_t g_trace_seq = 0;
uint16_t g_trace_span = static_cast<uint16_t>(getpid() & 0xffff);

// register(dispatch): dispatch(f, ...) is how every event enters Lua.
int l_register(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  LuaHost::from(L)->set_dispatch(luaL_ref(L, LUA_REGISTRYINDEX));
  return 0;
}

int l_exit(lua_State *L) {
  LuaHost::from(L)->request_exit(static_cast<int>(luaL_optinteger(L, 1, 0) & 0xff));
  return 0;
}

int l_timeout(lua_State *L) {
  lua_Integer ms = luaL_checkinteger(L, 1);
  lua_pushinteger(L, static_cast<lua_Integer>(LuaHost::from(L)->add_lua_timer(ms)));
  return 1;
}

// after(ms, fn[, ud]) -> id, with the tables silly.time keeps as upvalues:
// upvalue 1 maps the id's slot key to fn, upvalue 2 to ud when one is
// given. One C call and no table per timer: time.after is on hot paths
// (retries, per-call deadlines), and costs less than the Lua it replaces.
int l_after(lua_State *L) {
  int exact = 0;
  lua_Integer ms = lua_type(L, 1) == LUA_TNUMBER ? lua_tointegerx(L, 1, &exact) : 0;
  if (!exact) {
    const char *got = lua_type(L, 1) == LUA_TNUMBER ? "float" : luaL_typename(L, 1);
    return luaL_error(L, "time.after: integer milliseconds expected, got %s", got);
  }
  if (lua_type(L, 2) != LUA_TFUNCTION) {
    return luaL_error(L, "time.after: function expected, got %s", luaL_typename(L, 2));
  }
  TimerId id = LuaHost::from(L)->add_lua_timer(ms);
  auto key = static_cast<lua_Integer>(id & kTimerSlotMask);
  lua_settop(L, 3);
  lua_pushvalue(L, 2);
  lua_rawseti(L, lua_upvalueindex(1), key);
  if (!lua_isnil(L, 3)) {
    lua_pushvalue(L, 3);
    lua_rawseti(L, lua_upvalueindex(2), key);
  }
  lua_pushinteger(L, static_cast<lua_Integer>(id));
  return 1;
}

// afterfn(pending, udata) -> after, bound to the two tables.
int l_afterfn(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  lua_pushcclosure(L, l_after, 2);
  return 1;
}

int l_timercancel(lua_State *L) {
  auto id = static_cast<TimerId>(luaL_checkinteger(L, 1));
  lua_pushboolean(L, LuaHost::from(L)->loop().cancel_timer(id));
  return 1;
}

// ontimer(f): f(id) runs for each timer from timeout() that fires.
int l_ontimer(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  LuaHost::from(L)->set_timer_function(luaL_ref(L, LUA_REGISTRYINDEX));
  return 0;
}

// onsignal(f): f(signo) runs for each watched signal delivered.
int l_onsignal(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  LuaHost::from(L)->set_signal_function(luaL_ref(L, LUA_REGISTRYINDEX));
  return 0;
}

int l_now(lua_State *L) {
  lua_pushinteger(L, (g_start_wall + (monotonic_us() - g_start_mono)) / 1000);
  return 1;
}

int l_monotonic(lua_State *L) {
  lua_pushinteger(L, (monotonic_us() - g_start_mono) / 1000);
  return 1;
}

int l_monotonic_us(lua_State *L) {
  lua_pushinteger(L, monotonic_us() - g_start_mono);
  return 1;
}

int l_genid(lua_State *L) {
  if (++g_genid == 0)
    lua_pushboolean(L, 1);  // tells silly.lua to warn
  else
    lua_pushboolean(L, 0);
  lua_pushinteger(L, g_genid);
  lua_insert(L, -2);
  return 2;
}

int l_tostring(lua_State *L) {
  luaL_checktype(L, 1, LUA_TLIGHTUSERDATA);
  const char *p = static_cast<const char *>(lua_touserdata(L, 1));
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_argcheck(L, n >= 0, 2, "size must not be negative");
  lua_pushlstring(L, p, static_cast<size_t>(n));
  return 1;
}

int l_free(lua_State *L) {
  if (lua_type(L, 1) != LUA_TLIGHTUSERDATA) return luaL_error(L, "can only drop lightuserdata");
  std::free(lua_touserdata(L, 1));
  return 0;
}

// [63..48] root span, [47..32] wall seconds, [31..16] sequence, [15..0] span.
int l_tracenew(lua_State *L) {
  lua_pushinteger(L, static_cast<lua_Integer>(new_trace_id()));
  return 1;
}

int l_tracespan(lua_State *L) {
  if (!lua_isinteger(L, 1)) return luaL_error(L, "silly.tracespan: integer expected, got %s", luaL_typename(L, 1));
  g_trace_span = static_cast<uint16_t>(lua_tointeger(L, 1) & 0xffff);
  return 0;
}

int l_tracepropagate(lua_State *L) {
  lua_Integer id = luaL_checkinteger(L, 1);
  if (id == 0) return l_tracenew(L);
  uint64_t u = (static_cast<uint64_t>(id) & ~uint64_t{0xffff}) | g_trace_span;
  lua_pushinteger(L, static_cast<lua_Integer>(u));
  return 1;
}

struct SignalName {
  const char *name;
  int signo;
};
const SignalName kSignals[] = {
    {"SIGINT", SIGINT},   {"SIGTERM", SIGTERM},   {"SIGHUP", SIGHUP},   {"SIGQUIT", SIGQUIT},
    {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2},   {"SIGPIPE", SIGPIPE}, {"SIGALRM", SIGALRM},
    {"SIGCHLD", SIGCHLD}, {"SIGWINCH", SIGWINCH}, {"SIGKILL", SIGKILL}, {"SIGSTOP", SIGSTOP},
};

// signum(name) -> number | nil
int l_signum(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  for (const auto &s : kSignals) {
    if (std::strcmp(s.name, name) == 0) {
      lua_pushinteger(L, s.signo);
      return 1;
    }
  }
  return 0;
}

int l_signame(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  for (const auto &s : kSignals) {
    if (s.signo == n) {
      lua_pushstring(L, s.name);
      return 1;
    }
  }
  return 0;
}

int l_watchsignal(lua_State *L) {
  int signo = static_cast<int>(luaL_checkinteger(L, 1));
  if (signo == SIGKILL || signo == SIGSTOP) return luaL_error(L, "signal: %s cannot be caught", strsignal(signo));
  lua_pushboolean(L, LuaHost::from(L)->loop().watch_signal(signo) == 0);
  return 1;
}

int l_argv(lua_State *L) {
  const auto &args = LuaHost::from(L)->options().args;
  lua_createtable(L, static_cast<int>(args.size()), 0);
  for (size_t i = 0; i < args.size(); i++) {
    lua_pushlstring(L, args[i].data(), args[i].size());
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
  return 1;
}

// onpost(f): f(text, id) gets each message another thread posted.
int l_onpost(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  LuaHost::from(L)->set_post_function(luaL_ref(L, LUA_REGISTRYINDEX));
  return 0;
}

// reply(id, text): the answer to posted message `id`, for its thread.
int l_reply(lua_State *L) {
  lua_Integer id = luaL_checkinteger(L, 1);
  size_t n;
  const char *text = luaL_checklstring(L, 2, &n);
  LuaHost::from(L)->mailbox().reply(static_cast<uint64_t>(id), std::string(text, n));
  return 0;
}

// Bytes the allocator holds for the whole process (Lua and C++ alike).
int l_memused(lua_State *L) {
#ifndef SILLY_NO_JEMALLOC
  uint64_t epoch = 1;
  size_t sz = sizeof(epoch);
  mallctl("epoch", &epoch, &sz, &epoch, sz);
  size_t allocated = 0;
  sz = sizeof(allocated);
  if (mallctl("stats.allocated", &allocated, &sz, nullptr, 0) == 0) {
    lua_pushinteger(L, static_cast<lua_Integer>(allocated));
    return 1;
  }
#endif
  lua_pushinteger(L, static_cast<lua_Integer>(lua_gc(L, LUA_GCCOUNT, 0)) * 1024);
  return 1;
}

// Gives the pages that freed memory left back to the system now (after a
// wave of closed connections) rather than at the decay's pace.
int l_purge(lua_State *) {
#ifndef SILLY_NO_JEMALLOC
  char name[64];
  std::snprintf(name, sizeof(name), "arena.%u.purge", static_cast<unsigned>(MALLCTL_ARENAS_ALL));
  mallctl(name, nullptr, nullptr, nullptr, 0);
#endif
  return 0;
}

int l_loglevel(lua_State *L) {
  const std::string &lv = LuaHost::from(L)->options().loglevel;
  lua_pushlstring(L, lv.data(), lv.size());
  return 1;
}

}  // namespace

uint64_t new_trace_id() {
  // Made per call: the seconds come from the cheap clock.
  uint64_t secs = static_cast<uint64_t>(g_start_wall + (monotonic_coarse_us() - g_start_mono)) / 1000000;
  if (++g_trace_seq == 0) g_trace_seq = 1;
  return (uint64_t{g_trace_span} << 48) | ((secs & 0xffff) << 32) | (uint64_t{g_trace_seq} << 16) | g_trace_span;
}

int open_silly_core(lua_State *L) {
  const luaL_Reg fns[] = {
      {"register", l_register},
      {"exit", l_exit},
      {"timeout", l_timeout},
      {"timercancel", l_timercancel},
      {"afterfn", l_afterfn},
      {"ontimer", l_ontimer},
      {"onsignal", l_onsignal},
      {"now", l_now},
      {"monotonic", l_monotonic},
      {"monotonic_us", l_monotonic_us},
      {"genid", l_genid},
      {"tostring", l_tostring},
      {"free", l_free},
      {"tracenew", l_tracenew},
      {"tracespan", l_tracespan},
      {"tracepropagate", l_tracepropagate},
      {"signum", l_signum},
      {"signame", l_signame},
      {"watchsignal", l_watchsignal},
      {"argv", l_argv},
      {"memused", l_memused},
      {"purge", l_purge},
      {"onpost", l_onpost},
      {"reply", l_reply},
      {"loglevel", l_loglevel},
      {nullptr, nullptr},
  };
  luaL_newlib(L, fns);
  lua_pushinteger(L, getpid());
  lua_setfield(L, -2, "pid");
  lua_pushinteger(L, static_cast<lua_Integer>(kTimerSlotMask));
  lua_setfield(L, -2, "timerslotmask");
  lua_pushstring(L, kVersion);
  lua_setfield(L, -2, "version");
  // How this binary was built, for tests whose measures depend on it: the
  // allocator (memory returned to the system), and the sanitizers (which
  // check memory through a pipe, and so misreport at the descriptor limit).
#ifndef SILLY_NO_JEMALLOC
  lua_pushliteral(L, "jemalloc");
#else
  lua_pushliteral(L, "system");
#endif
  lua_setfield(L, -2, "allocator");
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
  lua_pushboolean(L, 1);
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
  lua_pushboolean(L, 1);
#else
  lua_pushboolean(L, 0);
#endif
#else
  lua_pushboolean(L, 0);
#endif
  lua_setfield(L, -2, "sanitized");
  return 1;
}

}  // namespace silly
