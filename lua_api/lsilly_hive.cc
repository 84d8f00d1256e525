// silly.hive.c: Lua states of their own ("workers") that run blocking code
// on the threads of a WorkerPool, for silly.hive.
//
// spawn(code, ...) -> worker: a new state runs `code` with (...) now, on
//   the loop thread; it must return the function later calls run.
// push(worker, ...) -> id: copies (...) into the worker and queues the
//   call; when it has run, ondone's function gets (id) on the loop thread.
// results(worker) -> ok, ...: takes what the call returned (or false and
//   its error), which frees the worker for the next push.
// limit(min, max[, queue]), threads(), prune(), queued(), ondone(fn).
//
// Values cross between states as copies: nil, booleans, numbers, strings
// and tables of them (up to kMaxCopyDepth deep); anything else is refused
// with an error that names the function and the value.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <lua.hpp>
#include <memory>
#include <new>
#include <thread>

#include "silly/core/worker_pool.h"
#include "silly/lua_api/host.h"
#include "silly/lua_api/modules.h"

namespace silly {

namespace {

constexpr const char *kPartName = "silly.hive";
constexpr const char *kWorkerMeta = "silly.hive.worker";
constexpr int kMaxCopyDepth = 100;
// A thread idle this long is stopped by prune(), down to the minimum.
constexpr int64_t kIdleMs = 5000;

struct Worker {
  lua_State *L = nullptr;  // stack: [1] the function, then a call's values
  int status = LUA_OK;     // of the last call
  bool busy = false;       // pushed, results not taken yet
  ~Worker() {
    if (L != nullptr) lua_close(L);
  }
};

using WorkerRef = std::shared_ptr<Worker>;

class HiveBinding : public HostPart {
 public:
  explicit HiveBinding(LuaHost &host) : host_(host), pool_(host.loop()) {
    int n = static_cast<int>(std::thread::hardware_concurrency());
    if (n <= 0) n = 1;
    pool_.set_limits(n, 2 * n);  // the original framework's defaults
  }
  ~HiveBinding() override = default;

  LuaHost &host() { return host_; }
  WorkerPool &pool() { return pool_; }
  int done_ref = LUA_NOREF;
  lua_Integer next_id = 0;

 private:
  LuaHost &host_;
  WorkerPool pool_;
};

HiveBinding &binding(lua_State *L) {
  return *static_cast<HiveBinding *>(lua_touserdata(L, lua_upvalueindex(1)));
}

// Why a value cannot cross. A plain buffer, not a std::string: the
// callers raise Lua errors, which unwind past C++ destructors.
struct Why {
  char text[200] = {0};
};

// Copies the value at `idx` of `from` onto `to`. On a value that cannot
// cross, pushes nothing and leaves the reason in `why`.
bool copy_value(lua_State *from, int idx, lua_State *to, int depth, Why &why) {
  if (!lua_checkstack(to, 3) || !lua_checkstack(from, 3)) {
    snprintf(why.text, sizeof(why.text), "out of Lua stack");
    return false;
  }
  switch (lua_type(from, idx)) {
    case LUA_TNIL: lua_pushnil(to); return true;
    case LUA_TBOOLEAN: lua_pushboolean(to, lua_toboolean(from, idx)); return true;
    case LUA_TNUMBER:
      if (lua_isinteger(from, idx)) {
        lua_pushinteger(to, lua_tointeger(from, idx));
      } else {
        lua_pushnumber(to, lua_tonumber(from, idx));
      }
      return true;
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(from, idx, &len);
      lua_pushlstring(to, s, len);
      return true;
    }
    case LUA_TTABLE: {
      if (depth >= kMaxCopyDepth) {
        snprintf(why.text, sizeof(why.text), "tables nested deeper than %d (a cycle?)", kMaxCopyDepth);
        return false;
      }
      idx = lua_absindex(from, idx);
      lua_newtable(to);
      lua_pushnil(from);
      while (lua_next(from, idx) != 0) {
        int top = lua_gettop(from);
        if (!copy_value(from, top - 1, to, depth + 1, why)) {
          lua_pop(from, 2);
          lua_pop(to, 1);
          return false;
        }
        if (!copy_value(from, top, to, depth + 1, why)) {
          lua_pop(from, 2);
          lua_pop(to, 2);
          return false;
        }
        lua_rawset(to, -3);
        lua_pop(from, 1);
      }
      return true;
    }
    default:
      snprintf(why.text, sizeof(why.text), "a %s cannot cross to another Lua state", luaL_typename(from, idx));
      return false;
  }
}

// Copies from[first..last] onto `to`; false with `why` naming the value.
bool copy_values(lua_State *from, int first, int last, lua_State *to, const char *what, Why &why) {
  for (int i = first; i <= last; i++) {
    if (!copy_value(from, i, to, 0, why)) {
      char detail[120];  // the inner reason, cut to leave room for the prefix
      snprintf(detail, sizeof(detail), "%.119s", why.text);
      snprintf(why.text, sizeof(why.text), "%.20s %d: %s", what, i - first + 1, detail);
      return false;
    }
  }
  return true;
}

WorkerRef &check_worker(lua_State *L, int idx) {
  return *static_cast<WorkerRef *>(luaL_checkudata(L, idx, kWorkerMeta));
}

int l_worker_gc(lua_State *L) {
  // A call still running keeps the worker's state alive until it ends.
  static_cast<WorkerRef *>(lua_touserdata(L, 1))->~WorkerRef();
  return 0;
}

int l_spawn(lua_State *L) {
  size_t len;
  const char *code = luaL_checklstring(L, 1, &len);
  int nargs = lua_gettop(L) - 1;
  auto *ref = static_cast<WorkerRef *>(lua_newuserdatauv(L, sizeof(WorkerRef), 0));
  new (ref) WorkerRef(std::make_shared<Worker>());
  luaL_setmetatable(L, kWorkerMeta);
  Worker &w = **ref;
  w.L = luaL_newstate();
  if (w.L == nullptr) return luaL_error(L, "hive.spawn: cannot create a Lua state");
  luaL_openlibs(w.L);
  if (luaL_loadbuffer(w.L, code, len, "=hive") != LUA_OK) {
    lua_pushfstring(L, "hive.spawn: %s", lua_tostring(w.L, -1));
    lua_settop(w.L, 0);
    return lua_error(L);
  }
  Why why;
  if (!copy_values(L, 2, nargs + 1, w.L, "argument", why)) {
    lua_settop(w.L, 0);
    return luaL_error(L, "hive.spawn: %s", why.text);
  }
  if (lua_pcall(w.L, nargs, 1, 0) != LUA_OK) {
    lua_pushfstring(L, "hive.spawn: %s",
                    lua_type(w.L, -1) == LUA_TSTRING ? lua_tostring(w.L, -1) : "(error object is not a string)");
    lua_settop(w.L, 0);
    return lua_error(L);
  }
  if (lua_type(w.L, 1) != LUA_TFUNCTION) {
    const char *got = luaL_typename(w.L, 1);
    lua_settop(w.L, 0);
    return luaL_error(L, "hive.spawn: the code must return a function, got %s", got);
  }
  return 1;
}

int l_push(lua_State *L) {
  HiveBinding &b = binding(L);
  // No shared_ptr copy on this frame: a raise would skip its destructor.
  Worker &w = *check_worker(L, 1);
  if (w.busy) return luaL_error(L, "hive.invoke: the worker is running a call");
  if (w.L == nullptr || lua_gettop(w.L) != 1) return luaL_error(L, "hive.invoke: the worker is broken");
  lua_pushvalue(w.L, 1);
  Why why;
  if (!copy_values(L, 2, lua_gettop(L), w.L, "argument", why)) {
    lua_settop(w.L, 1);
    return luaL_error(L, "hive.invoke: %s", why.text);
  }
  lua_Integer id = ++b.next_id;
  HiveBinding *bp = &b;
  int r = b.pool().submit(
      [worker = check_worker(L, 1)] {
        Worker &w = *worker;
        w.status = lua_pcall(w.L, lua_gettop(w.L) - 2, LUA_MULTRET, 0);
      },
      [bp, id] {
        LuaHost &host = bp->host();
        if (!host.begin(bp->done_ref)) return;
        lua_pushinteger(host.L(), id);
        host.call(1);
      });
  if (r < 0) {
    lua_settop(w.L, 1);
    if (r == -EAGAIN) {
      return luaL_error(L, "hive.invoke: the queue is full (%d calls wait for a thread)",
                        static_cast<int>(b.pool().queued()));
    }
    return luaL_error(L, "hive.invoke: cannot start a thread: %s", strerror(-r));
  }
  w.busy = true;
  lua_pushinteger(L, id);
  return 1;
}

int l_results(lua_State *L) {
  Worker &w = *check_worker(L, 1);
  if (!w.busy) return luaL_error(L, "hive.invoke: no call to take results from");
  int top = lua_gettop(w.L);
  Why why;
  lua_settop(L, 0);
  if (!lua_checkstack(L, top + 1)) {
    lua_settop(w.L, 1);
    w.busy = false;
    return luaL_error(L, "hive.invoke: too many results (%d)", top - 1);
  }
  bool ok = w.status == LUA_OK;
  lua_pushboolean(L, ok);
  bool copied;
  if (ok) {
    copied = copy_values(w.L, 2, top, L, "result", why);
  } else {
    // The error object: its text, whatever it is.
    lua_pushstring(L, luaL_tolstring(w.L, -1, nullptr));
    copied = true;
  }
  lua_settop(w.L, 1);
  w.busy = false;
  if (!copied) {
    lua_settop(L, 0);
    lua_pushboolean(L, false);
    lua_pushfstring(L, "hive.invoke: %s", why.text);
  }
  return lua_gettop(L);
}

// limit(min, max[, queue]): queue, ours, bounds the calls that wait for a
// thread (WorkerPool::kDefaultQueueLimit).
int l_limit(lua_State *L) {
  lua_Integer min = luaL_checkinteger(L, 1);
  lua_Integer max = luaL_checkinteger(L, 2);
  lua_Integer queue = luaL_optinteger(L, 3, 0);
  luaL_argcheck(L, max > 0 && max <= 4096, 2, "hive.limit: max must be 1..4096");
  luaL_argcheck(L, min >= 0 && min <= max, 1, "hive.limit: min must be 0..max");
  luaL_argcheck(L, queue >= 0, 3, "hive.limit: queue must be positive");
  WorkerPool &pool = binding(L).pool();
  pool.set_limits(static_cast<int>(min), static_cast<int>(max));
  if (queue > 0) pool.set_queue_limit(static_cast<size_t>(queue));
  return 0;
}

int l_threads(lua_State *L) {
  lua_pushinteger(L, binding(L).pool().threads());
  return 1;
}

int l_prune(lua_State *L) {
  lua_pushinteger(L, binding(L).pool().prune(kIdleMs));
  return 1;
}

// queued() -> calls waiting for a thread, busy threads.
int l_queued(lua_State *L) {
  lua_pushinteger(L, static_cast<lua_Integer>(binding(L).pool().queued()));
  lua_pushinteger(L, binding(L).pool().busy());
  return 2;
}

int l_ondone(lua_State *L) {
  hold_callback(L, &binding(L).done_ref);
  return 0;
}

}  // namespace

int open_silly_hive(lua_State *L) {
  LuaHost *host = LuaHost::from(L);
  HostPart *part = host->part(kPartName);
  if (part == nullptr) part = host->attach(kPartName, std::make_unique<HiveBinding>(*host));
  if (luaL_newmetatable(L, kWorkerMeta)) {
    lua_pushcfunction(L, l_worker_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  const luaL_Reg fns[] = {
      {"spawn", l_spawn}, {"push", l_push},     {"results", l_results}, {"limit", l_limit}, {"threads", l_threads},
      {"prune", l_prune}, {"queued", l_queued}, {"ondone", l_ondone},   {nullptr, nullptr},
  };
  luaL_newlibtable(L, fns);
  lua_pushlightuserdata(L, part);
  luaL_setfuncs(L, fns, 1);
  lua_pushinteger(L, kIdleMs);
  lua_setfield(L, -2, "IDLE_MS");
  return 1;
}

}  // namespace silly
