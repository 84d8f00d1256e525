#include "lua_api/host.h"

#include <cstdlib>
#include <cstring>

#include "core/log.h"

namespace silly {

LuaHost::LuaHost(const RuntimeOptions &options) : options_(options), loop_(options.sockets) {
  L_ = luaL_newstate();
  *static_cast<LuaHost **>(lua_getextraspace(L_)) = this;
  loop_.set_handler(this);
  loop_.sockets().set_handler(this);
}

LuaHost::~LuaHost() {
  // Finalizers may still close sockets, so Lua goes before the loop.
  if (L_ != nullptr) lua_close(L_);
}

void LuaHost::request_exit(int code) {
  exit_code_ = code;
  loop_.stop();
}

void LuaHost::request_exit_async(int code) {
  exit_code_ = code;
  loop_.notify(0);
}

bool LuaHost::begin(int kind) {
  if (dispatch_ref_ == LUA_NOREF || loop_.stopping()) return false;
  lua_rawgeti(L_, LUA_REGISTRYINDEX, dispatch_ref_);
  lua_pushinteger(L_, kind);
  return true;
}

void LuaHost::call(int nargs) {
  // The scheduler catches task errors itself; an error here is a bug in the
  // runtime's own Lua code, logged so that the loop keeps going.
  if (lua_pcall(L_, nargs + 1, 0, 0) != LUA_OK) {
    log_line(LogLevel::kError, "[silly] dispatch: %s", lua_tostring(L_, -1));
    lua_pop(L_, 1);
  }
}

void LuaHost::on_timer(TimerQueue::Id id, uint64_t cookie) {
  uint64_t tag = cookie >> kTimerTagShift;
  if (tag != 0) {
    if (tag < kModeCount && consumers_[tag] != nullptr && !loop_.stopping()) {
      consumers_[tag]->on_timer(cookie & kTimerPayloadMask);
    }
    return;
  }
  if (!begin(kEvTimer)) return;
  lua_pushinteger(L_, static_cast<lua_Integer>(id));
  call(1);
}

void LuaHost::on_signal(int signo) {
  if (signo == 0) {  // Runtime::stop from elsewhere
    loop_.stop();
    return;
  }
  if (!begin(kEvSignal)) return;
  lua_pushinteger(L_, signo);
  call(1);
}

void LuaHost::on_accept(SocketId listener, SocketId conn, const std::string &peer) {
  auto it = modes_.find(listener);
  modes_[conn] = it == modes_.end() ? kModeStream : it->second;
  if (!begin(kEvAccept)) return;
  lua_pushinteger(L_, listener);
  lua_pushinteger(L_, conn);
  lua_pushlstring(L_, peer.data(), peer.size());
  call(3);
}

void LuaHost::on_connect(SocketId id, int err) {
  if (err != 0) modes_.erase(id);
  if (!begin(kEvConnect)) return;
  lua_pushinteger(L_, id);
  lua_pushinteger(L_, err);
  call(2);
}

void LuaHost::on_data(SocketId id, RingBuffer &in) {
  auto it = modes_.find(id);
  int mode = it == modes_.end() ? kModeStream : it->second;
  if (consumers_[mode] != nullptr) {
    if (!loop_.stopping()) consumers_[mode]->on_data(id, in);
    return;
  }
  if (mode == kModeRaw) {
    size_t n = in.size();
    void *buf = std::malloc(n);
    if (buf == nullptr) return;  // leave the bytes for the next edge
    in.peek(buf, n);
    in.consume(n);
    if (!begin(kEvData)) {
      std::free(buf);
      return;
    }
    lua_pushinteger(L_, id);
    lua_pushlightuserdata(L_, buf);
    lua_pushinteger(L_, static_cast<lua_Integer>(n));
    call(3);
    return;
  }
  if (!begin(kEvData)) return;
  lua_pushinteger(L_, id);
  call(1);
}

void LuaHost::on_close(SocketId id, int err) {
  if (!begin(kEvClose)) return;
  lua_pushinteger(L_, id);
  lua_pushinteger(L_, err);
  call(2);
}

void LuaHost::on_datagram(SocketId id, const uint8_t *data, size_t n, const SockAddr &from) {
  if (!begin(kEvUdp)) return;
  lua_pushinteger(L_, id);
  lua_pushlstring(L_, reinterpret_cast<const char *>(data), n);
  std::string addr = format_address(from.get());
  lua_pushlstring(L_, addr.data(), addr.size());
  call(3);
}

}  // namespace silly
