// silly.websocket.c: WebSocket frames (RFC 6455, section 5) on wslay's frame
// layer, for silly.net.websocket. The Lua side does the I/O, the handshake
// and the message assembly; this reads and writes single frames.
//
// framer(role, max_frame) -> f, role "server" (frames in must be masked,
//   frames out are not) or "client" (the other way round).
// f:feed(s): appends received bytes.
// f:next() -> fin, opcode, payload: the next whole frame, unmasked; nil when
//   more bytes are needed; nil and the reason on a protocol violation
//   (reserved bits or opcodes, the wrong masking, a control frame that is
//   fragmented or over 125 bytes, a frame over max_frame).
// f:frame(fin, opcode, payload) -> the frame's bytes, masked by a client
//   with a fresh key from OpenSSL's CSPRNG.
#include <openssl/rand.h>
#include <wslay/wslay.h>

#include <cstring>
#include <lua.hpp>
#include <new>
#include <string>

#include "silly/lua_api/batteries.h"

namespace silly {

namespace {

constexpr const char *kFramerMeta = "silly.websocket.framer";

struct Framer {
  wslay_frame_context_ptr ctx = nullptr;
  bool client = false;
  uint64_t max_frame = 0;
  std::string in;       // fed, not yet given to wslay
  size_t in_off = 0;    // what wslay took of `in`
  std::string out;      // what wslay_frame_send wrote
  std::string payload;  // the frame being received
  bool in_frame = false;
  uint8_t fin = 0, opcode = 0;
  uint64_t length = 0;

  ~Framer() {
    if (ctx != nullptr) wslay_frame_context_free(ctx);
  }
};

ssize_t on_send(const uint8_t *data, size_t len, int, void *user) {
  static_cast<Framer *>(user)->out.append(reinterpret_cast<const char *>(data), len);
  return static_cast<ssize_t>(len);
}

ssize_t on_recv(uint8_t *buf, size_t len, int, void *user) {
  auto *f = static_cast<Framer *>(user);
  size_t avail = f->in.size() - f->in_off;
  if (avail == 0) return -1;  // wslay: WSLAY_ERR_WANT_READ
  size_t n = avail < len ? avail : len;
  std::memcpy(buf, f->in.data() + f->in_off, n);
  f->in_off += n;
  return static_cast<ssize_t>(n);
}

int on_genmask(uint8_t *buf, size_t len, void *) {
  return RAND_bytes(buf, static_cast<int>(len)) == 1 ? 0 : -1;
}

Framer *check_framer(lua_State *L) {
  return static_cast<Framer *>(luaL_checkudata(L, 1, kFramerMeta));
}

int l_gc(lua_State *L) {
  static_cast<Framer *>(lua_touserdata(L, 1))->~Framer();
  return 0;
}

int l_framer(lua_State *L) {
  const char *role = luaL_checkstring(L, 1);
  lua_Integer max_frame = luaL_checkinteger(L, 2);
  bool client = std::strcmp(role, "client") == 0;
  luaL_argcheck(L, client || std::strcmp(role, "server") == 0, 1, "\"server\" or \"client\" expected");
  luaL_argcheck(L, max_frame > 0, 2, "max_frame must be positive");
  auto *f = static_cast<Framer *>(lua_newuserdatauv(L, sizeof(Framer), 0));
  new (f) Framer();
  luaL_setmetatable(L, kFramerMeta);
  f->client = client;
  f->max_frame = static_cast<uint64_t>(max_frame);
  static const wslay_frame_callbacks callbacks = {on_send, on_recv, on_genmask};
  if (wslay_frame_context_init(&f->ctx, &callbacks, f) != 0) return luaL_error(L, "websocket: out of memory");
  return 1;
}

int l_feed(lua_State *L) {
  Framer *f = check_framer(L);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  if (f->in_off > 0) {  // drop what wslay took before growing
    f->in.erase(0, f->in_off);
    f->in_off = 0;
  }
  f->in.append(s, len);
  return 0;
}

int violation(lua_State *L, const char *why) {
  lua_pushnil(L);
  lua_pushstring(L, why);
  return 2;
}

// The checks wslay leaves to its caller, on a frame's first piece.
const char *check_start(const Framer *f, const wslay_frame_iocb &io) {
  if (io.rsv != 0) return "reserved bits set (no extension was agreed)";
  if ((io.opcode > 2 && io.opcode < 8) || io.opcode > 10) return "reserved opcode";
  if (f->client && io.mask) return "a masked frame from the server";
  if (!f->client && !io.mask) return "an unmasked frame from the client";
  if (io.payload_length > f->max_frame) return "frame over the size limit";
  return nullptr;
}

int l_next(lua_State *L) {
  Framer *f = check_framer(L);
  for (;;) {
    wslay_frame_iocb io;
    std::memset(&io, 0, sizeof(io));
    ssize_t r = wslay_frame_recv(f->ctx, &io);
    if (r == WSLAY_ERR_WANT_READ) return 0;
    if (r == WSLAY_ERR_PROTO) return violation(L, "a malformed frame");
    if (r < 0) return violation(L, "frame error");
    if (!f->in_frame) {
      if (const char *why = check_start(f, io)) return violation(L, why);
      f->in_frame = true;
      f->fin = io.fin;
      f->opcode = io.opcode;
      f->length = io.payload_length;
      f->payload.clear();
    }
    f->payload.append(reinterpret_cast<const char *>(io.data), io.data_length);
    if (f->payload.size() < f->length) continue;
    f->in_frame = false;
    lua_pushboolean(L, f->fin);
    lua_pushinteger(L, f->opcode);
    lua_pushlstring(L, f->payload.data(), f->payload.size());
    f->payload.clear();
    return 3;
  }
}

int l_frame(lua_State *L) {
  Framer *f = check_framer(L);
  bool fin = lua_toboolean(L, 2);
  lua_Integer opcode = luaL_checkinteger(L, 3);
  size_t len;
  const char *payload = luaL_optlstring(L, 4, "", &len);
  luaL_argcheck(L, opcode >= 0 && opcode <= 15, 3, "opcode must be 0..15");
  wslay_frame_iocb io;
  std::memset(&io, 0, sizeof(io));
  io.fin = fin ? 1 : 0;
  io.opcode = static_cast<uint8_t>(opcode);
  io.mask = f->client ? 1 : 0;
  io.payload_length = len;
  f->out.clear();
  size_t sent = 0;
  int idle = 0;  // calls that moved nothing: our sink takes all, so a bug
  do {
    io.data = reinterpret_cast<const uint8_t *>(payload) + sent;
    io.data_length = len - sent;
    ssize_t r = wslay_frame_send(f->ctx, &io);
    if (r < 0 || (r == 0 && sent < len && ++idle > 2)) {
      return luaL_error(L, "websocket: cannot make the frame (%d)", static_cast<int>(r));
    }
    sent += static_cast<size_t>(r);
  } while (sent < len);
  lua_pushlstring(L, f->out.data(), f->out.size());
  f->out.clear();
  return 1;
}

}  // namespace

int open_silly_websocket(lua_State *L) {
  const luaL_Reg methods[] = {
      {"feed", l_feed},
      {"next", l_next},
      {"frame", l_frame},
      {nullptr, nullptr},
  };
  if (luaL_newmetatable(L, kFramerMeta)) {
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  const luaL_Reg fns[] = {{"framer", l_framer}, {nullptr, nullptr}};
  luaL_newlib(L, fns);
  return 1;
}

}  // namespace silly
