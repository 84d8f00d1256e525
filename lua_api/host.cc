#include "silly/lua_api/host.h"

#include <cassert>

#include "silly/core/log.h"

namespace silly {

LuaHost::LuaHost(const RuntimeOptions &options)
    : options_(options), loop_(), sockets_(loop_, options.sockets), L_(luaL_newstate()) {
  *static_cast<LuaHost **>(lua_getextraspace(L_)) = this;
  loop_.set_signal_owner(this);
  mailbox_ = std::make_unique<Mailbox>(loop_, [this](std::vector<Mailbox::Message> &batch) {
    for (Mailbox::Message &m : batch) {
      if (post_ref_ == LUA_NOREF) {
        held_posts_.push_back(std::move(m));  // until silly.onpost
        continue;
      }
      if (!begin(post_ref_)) continue;  // stopping
      lua_pushlstring(L_, m.text.data(), m.text.size());
      lua_pushinteger(L_, static_cast<lua_Integer>(m.id));
      call(2);
    }
  });
}

LuaHost::~LuaHost() {
  // Finalizers may still close sockets, so Lua goes first; then the
  // bindings' parts, which may own sockets and timers themselves.
  lua_close(L_);
  while (!parts_.empty()) parts_.pop_back();
}

HostPart *LuaHost::attach(const char *name, std::unique_ptr<HostPart> part) {
  parts_.emplace_back(name, std::move(part));
  return parts_.back().second.get();
}

HostPart *LuaHost::part(const char *name) const {
  for (const auto &p : parts_) {
    if (p.first == name) return p.second.get();
  }
  return nullptr;
}

void LuaHost::request_exit(int code) {
  exit_code_ = code;
  loop_.stop();
}

void LuaHost::request_exit_async(int code) {
  exit_code_ = code;
  loop_.notify(0);
}

bool LuaHost::begin(int fn_ref) {
  if (dispatch_ref_ == LUA_NOREF || fn_ref == LUA_NOREF || loop_.stopping()) return false;
  lua_rawgeti(L_, LUA_REGISTRYINDEX, dispatch_ref_);
  lua_rawgeti(L_, LUA_REGISTRYINDEX, fn_ref);
  return true;
}

void LuaHost::call(int nargs) {
  // begin() pushed dispatch and the function, the caller nargs: the call
  // leaves the stack as begin() found it.
  int base = lua_gettop(L_) - nargs - 2;
  assert(base >= 0 && lua_isfunction(L_, base + 1));
  // The scheduler catches task errors itself; an error here is a bug in the
  // runtime's own Lua code, logged so that the loop keeps going.
  if (lua_pcall(L_, nargs + 1, 0, 0) != LUA_OK) {
    log_line(LogLevel::kError, "[silly] dispatch: %s", lua_tostring(L_, -1));
    lua_pop(L_, 1);
  }
  assert(lua_gettop(L_) == base);
  (void)base;
}

void LuaHost::on_timer(TimerId id, uint64_t) {
  if (!begin(timer_ref_)) return;
  lua_pushinteger(L_, static_cast<lua_Integer>(id));
  call(1);
}

void LuaHost::on_signal(int signo) {
  if (signo == 0) {  // Runtime::stop from elsewhere
    loop_.stop();
    return;
  }
  if (!begin(signal_ref_)) return;
  lua_pushinteger(L_, signo);
  call(1);
}

}  // namespace silly
