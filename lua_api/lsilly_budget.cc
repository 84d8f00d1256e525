// silly.budget.c: the task budget. A task that runs longer than the budget
// without yielding gets "task exceeded its budget of N ms" raised inside it.
//
// start(ms) starts the watchdog (core/watchdog.h); resume(co, ...) is
// coroutine.resume that marks each run for it; exempt(co or nil) spares one
// coroutine (the main chunk's); stats() -> {exceeded = n, budget_ms = ms}.
//
// How a task is stopped: the watchdog thread, seeing one run last past the
// budget, sends kSignal to the loop thread; the handler, on that thread,
// installs a count hook on the coroutine that runs (lua_sethook is safe
// there, as lua.c does on Ctrl-C). The hook raises the error at once, then
// again at every instruction of the task's own code until the task yields
// or ends, so a pcall inside its loop cannot swallow it; silly's own
// library (chunks named "=lualib/...") is let run after the first raise,
// so a cluster handler's caller still gets its answer. A hook the script
// had set (debug.sethook) keeps getting its events and is put back when
// the task next runs after yielding.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstring>
#include <lua.hpp>
#include <memory>

#include "silly/core/log.h"
#include "silly/core/watchdog.h"
#include "silly/lua_api/host.h"
#include "silly/lua_api/modules.h"

namespace silly {

namespace {

constexpr const char *kPartName = "silly.budget";
// SIGURG: ignored by default and used by nothing of ours; a host that uses
// it itself turns the budget off (--sys.task.budget_ms=0).
constexpr int kSignal = SIGURG;
// Coroutines stopped and not yet back (each keeps its script hook here).
constexpr int kSlots = 16;

struct Slot {
  lua_State *L = nullptr;
  uint64_t run = 0;
  lua_Hook hook = nullptr;  // the script's, put back afterwards
  int mask = 0;
  int count = 0;
  int counted = 0;  // count events since the script's hook last had one
  bool raised = false;
};

class Budget : public HostPart {
 public:
  int64_t ms = 0;
  std::unique_ptr<Watchdog> dog;
  pthread_t loop_thread{};
  std::atomic<uint64_t> overdue{UINT64_MAX};
  lua_State *running = nullptr;  // loop thread: the coroutine being resumed
  lua_State *exempt = nullptr;
  uint64_t exceeded = 0;
  Slot slots[kSlots];
  ~Budget() override;
};

// The budget of the runtime this thread runs (one a thread).
thread_local Budget *t_budget = nullptr;

Budget::~Budget() {
  dog.reset();  // no signal after this
  if (t_budget == this) t_budget = nullptr;
}

Slot *slot_of(Budget *b, lua_State *L) {
  for (Slot &s : b->slots) {
    if (s.L == L) return &s;
  }
  return nullptr;
}

void forward(const Slot &s, lua_State *L, lua_Debug *ar) {
  if (s.hook == nullptr) return;
  int event_mask = ar->event == LUA_HOOKTAILCALL ? LUA_MASKCALL : 1 << ar->event;
  if (ar->event != LUA_HOOKCOUNT && (s.mask & event_mask) != 0) s.hook(L, ar);
}

void budget_hook(lua_State *L, lua_Debug *ar) {
  Budget *b = t_budget;
  Slot *s = b != nullptr ? slot_of(b, L) : nullptr;
  if (s == nullptr) {
    lua_sethook(L, nullptr, 0, 0);
    return;
  }
  if (L != b->running || s->run != b->dog->current_run()) {
    // The task yielded since: the script's hook goes back.
    Slot back = *s;
    *s = Slot{};
    lua_sethook(L, back.hook, back.mask, back.count);
    forward(back, L, ar);
    return;
  }
  forward(*s, L, ar);
  if (ar->event != LUA_HOOKCOUNT) return;
  if (s->hook != nullptr && (s->mask & LUA_MASKCOUNT) != 0 && ++s->counted >= s->count) {
    s->counted = 0;
    s->hook(L, ar);
  }
  if (s->raised) {
    lua_getinfo(L, "S", ar);
    if (strncmp(ar->source, "=lualib/", 8) == 0) return;  // silly's own code finishes its work
  } else {
    s->raised = true;
    b->exceeded++;
    luaL_traceback(L, L, nullptr, 0);
    log_line(LogLevel::kError, "[silly] task exceeded its budget of %lld ms, stopped:\n%s",
             static_cast<long long>(b->ms), lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  luaL_where(L, 0);
  lua_pushfstring(L, "task exceeded its budget of %d ms", static_cast<int>(b->ms));
  lua_concat(L, 2);
  lua_error(L);
}

// On the loop thread, interrupting whatever it runs.
void on_signal(int) {
  Budget *b = t_budget;
  if (b == nullptr || b->dog == nullptr) return;
  lua_State *L = b->running;
  uint64_t run = b->overdue.load(std::memory_order_relaxed);
  if (L == nullptr || L == b->exempt || run != b->dog->current_run()) return;
  Slot *s = slot_of(b, L);
  if (s == nullptr) {
    s = slot_of(b, nullptr);
    if (s == nullptr) return;  // sixteen stopped tasks not back yet: this one waits for the next check
    s->L = L;
    s->hook = lua_gethook(L);
    s->mask = lua_gethookmask(L);
    s->count = lua_gethookcount(L);
  }
  s->run = run;
  s->raised = false;
  s->counted = 0;
  lua_sethook(L, budget_hook, s->mask | LUA_MASKCOUNT, 1);
}

Budget &budget(lua_State *L) {
  return *static_cast<Budget *>(lua_touserdata(L, lua_upvalueindex(1)));
}

// start(ms): 0 leaves the budget off.
int l_start(lua_State *L) {
  Budget &b = budget(L);
  lua_Integer ms = luaL_checkinteger(L, 1);
  luaL_argcheck(L, ms >= 0, 1, "the budget is in ms, 0 for none");
  if (b.dog != nullptr || ms == 0) return 0;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (sigaction(kSignal, &sa, nullptr) != 0) return luaL_error(L, "task budget: cannot install its signal");
  b.ms = ms;
  b.loop_thread = pthread_self();
  t_budget = &b;
  Budget *bp = &b;
  b.dog = std::make_unique<Watchdog>(ms, [bp](uint64_t run) {
    bp->overdue.store(run, std::memory_order_relaxed);
    pthread_kill(bp->loop_thread, kSignal);
  });
  return 0;
}

// resume(co, ...): coroutine.resume, each run marked for the watchdog.
int l_resume(lua_State *L) {
  lua_State *co = lua_tothread(L, 1);
  luaL_argexpected(L, co != nullptr, 1, "coroutine");
  if (co == L) {
    lua_pushboolean(L, 0);
    lua_pushliteral(L, "cannot resume non-suspended coroutine");
    return 2;
  }
  int nargs = lua_gettop(L) - 1;
  if (!lua_checkstack(co, nargs)) {
    lua_pushboolean(L, 0);
    lua_pushliteral(L, "too many arguments to resume");
    return 2;
  }
  lua_xmove(L, co, nargs);
  Budget *b = t_budget;
  bool watched = b != nullptr && b->dog != nullptr;
  lua_State *prev = nullptr;
  if (watched) {
    prev = b->running;
    b->running = co;
    b->dog->enter();
  }
  int nres = 0;
  int status = lua_resume(co, L, nargs, &nres);
  if (watched) {
    b->running = prev;
    b->dog->leave();
    if (status != LUA_YIELD) {
      Slot *s = slot_of(b, co);  // it ended: its slot must not outlive it
      if (s != nullptr) *s = Slot{};
    }
  }
  if (status == LUA_OK || status == LUA_YIELD) {
    if (!lua_checkstack(L, nres + 1)) {
      lua_pop(co, nres);
      lua_pushboolean(L, 0);
      lua_pushliteral(L, "too many results to resume");
      return 2;
    }
    lua_pushboolean(L, 1);
    lua_xmove(co, L, nres);
    return nres + 1;
  }
  lua_pushboolean(L, 0);
  lua_xmove(co, L, 1);  // the error
  return 2;
}

int l_exempt(lua_State *L) {
  budget(L).exempt = lua_tothread(L, 1);
  return 0;
}

int l_stats(lua_State *L) {
  Budget &b = budget(L);
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, static_cast<lua_Integer>(b.exceeded));
  lua_setfield(L, -2, "exceeded");
  lua_pushinteger(L, static_cast<lua_Integer>(b.ms));
  lua_setfield(L, -2, "budget_ms");
  return 1;
}

}  // namespace

int open_silly_budget(lua_State *L) {
  LuaHost *host = LuaHost::from(L);
  HostPart *part = host->part(kPartName);
  if (part == nullptr) part = host->attach(kPartName, std::make_unique<Budget>());
  const luaL_Reg fns[] = {
      {"start", l_start}, {"resume", l_resume}, {"exempt", l_exempt}, {"stats", l_stats}, {nullptr, nullptr},
  };
  luaL_newlibtable(L, fns);
  lua_pushlightuserdata(L, part);
  luaL_setfuncs(L, fns, 1);
  return 1;
}

}  // namespace silly
