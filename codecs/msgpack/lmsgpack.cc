// require "msgpack": MessagePack on the msgpack-c library (msgpack.so).
//
//   msgpack.encode(value [, raw])  -> string | lightuserdata, size
//   msgpack.decode(str)            -> value, bytes used | nil, reason
//   msgpack.decode(ptr, size)
//   msgpack.array(t) / msgpack.map(t)  mark a table's kind (for empty ones)
//   msgpack.binary(s)                   a string encoded as bin, not str
//
// Tables whose keys are exactly 1..n encode as arrays, others as maps; an
// unmarked empty table is a map. Decoded empty arrays come back marked, so
// they encode as arrays again. Integers beyond int64 (uint64 above 2^63-1)
// decode to the integer with the same 64 bits, as Lua has no wider type.
#include <msgpack.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "silly/codecs/common/codec.h"

namespace {

constexpr int kMaxDepth = 32;  // msgpack-c's own unpacker stops at 32 too
constexpr char kArrayMeta[] = "msgpack.array";
constexpr char kMapMeta[] = "msgpack.map";
constexpr char kBinaryMeta[] = "msgpack.binary";

// msgpack-c's buffers, reused by every call: its sbuffer (whose write
// callback is a plain memcpy) and the unpacker's zone. The owner frees them
// when the plugin is unloaded (lua_close), as C structs have no destructor.
struct Buffers {
  msgpack_sbuffer out;
  msgpack_unpacked unpacked;
  Buffers() {
    msgpack_sbuffer_init(&out);
    msgpack_unpacked_init(&unpacked);
  }
  ~Buffers() {
    msgpack_unpacked_destroy(&unpacked);
    msgpack_sbuffer_destroy(&out);
  }
  Buffers(const Buffers &) = delete;
  Buffers &operator=(const Buffers &) = delete;
};
Buffers g_buffers;
msgpack_sbuffer &g_out = g_buffers.out;
msgpack_unpacked &g_unpacked = g_buffers.unpacked;

enum class Kind { kAuto, kArray, kMap, kBinary };

Kind marked(lua_State *L, int idx) {
  if (!lua_getmetatable(L, idx)) return Kind::kAuto;
  Kind k = Kind::kAuto;
  luaL_getmetatable(L, kArrayMeta);
  if (lua_rawequal(L, -1, -2)) k = Kind::kArray;
  lua_pop(L, 1);
  luaL_getmetatable(L, kMapMeta);
  if (lua_rawequal(L, -1, -2)) k = Kind::kMap;
  lua_pop(L, 1);
  luaL_getmetatable(L, kBinaryMeta);
  if (lua_rawequal(L, -1, -2)) k = Kind::kBinary;
  lua_pop(L, 2);
  return k;
}

class Packer {
 public:
  explicit Packer(lua_State *L) : L_(L), guard_(L, "msgpack.encode", kMaxDepth) {
    msgpack_packer_init(&pk_, &g_out, msgpack_sbuffer_write);
  }

  void value(int idx) {
    idx = lua_absindex(L_, idx);
    switch (lua_type(L_, idx)) {
      case LUA_TNIL: msgpack_pack_nil(&pk_); return;
      case LUA_TBOOLEAN:
        if (lua_toboolean(L_, idx)) {
          msgpack_pack_true(&pk_);
        } else {
          msgpack_pack_false(&pk_);
        }
        return;
      case LUA_TNUMBER:
        if (lua_isinteger(L_, idx)) {
          msgpack_pack_int64(&pk_, lua_tointeger(L_, idx));
        } else {
          msgpack_pack_double(&pk_, lua_tonumber(L_, idx));
        }
        return;
      case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L_, idx, &n);
        msgpack_pack_str(&pk_, n);
        msgpack_pack_str_body(&pk_, s, n);
        return;
      }
      case LUA_TTABLE: table(idx); return;
      default: luaL_error(L_, "msgpack.encode: cannot encode a %s", luaL_typename(L_, idx));
    }
  }

 private:
  void table(int idx) {
    Kind kind = marked(L_, idx);
    if (kind == Kind::kBinary) {
      lua_rawgeti(L_, idx, 1);
      size_t n;
      const char *s = lua_tolstring(L_, -1, &n);
      msgpack_pack_bin(&pk_, n);
      msgpack_pack_bin_body(&pk_, s, n);
      lua_pop(L_, 1);
      return;
    }
    luaL_checkstack(L_, 6, "msgpack.encode: nesting too deep");
    guard_.enter(idx);
    size_t len = lua_rawlen(L_, idx);
    if (kind == Kind::kAuto && len > 0) {
      // Keys exactly 1..len make an array; count them to be sure.
      size_t count = 0;
      lua_pushnil(L_);
      while (lua_next(L_, idx) != 0) {
        count++;
        lua_pop(L_, 1);
      }
      kind = count == len ? Kind::kArray : Kind::kMap;
    }
    if (kind == Kind::kArray) {
      msgpack_pack_array(&pk_, len);
      for (size_t i = 1; i <= len; i++) {
        lua_rawgeti(L_, idx, static_cast<lua_Integer>(i));
        value(-1);
        lua_pop(L_, 1);
      }
    } else {
      map(idx);
    }
    guard_.leave();
  }

  // One pass: room for the largest map header, the pairs, then the real
  // header moved up against them.
  void map(int idx) {
    size_t at = g_out.size;
    static const char kRoom[5] = {0};
    msgpack_sbuffer_write(&g_out, kRoom, sizeof(kRoom));
    uint32_t count = 0;
    lua_pushnil(L_);
    while (lua_next(L_, idx) != 0) {
      value(-2);
      value(-1);
      lua_pop(L_, 1);
      count++;
    }
    char head[5];
    size_t hlen;
    if (count < 16) {
      head[0] = static_cast<char>(0x80 | count);
      hlen = 1;
    } else if (count < 65536) {
      head[0] = static_cast<char>(0xde);
      head[1] = static_cast<char>(count >> 8);
      head[2] = static_cast<char>(count);
      hlen = 3;
    } else {
      head[0] = static_cast<char>(0xdf);
      for (int i = 0; i < 4; i++) head[1 + i] = static_cast<char>(count >> (24 - 8 * i));
      hlen = 5;
    }
    char *base = g_out.data + at;
    std::memmove(base + hlen, base + sizeof(kRoom), g_out.size - at - sizeof(kRoom));
    std::memcpy(base, head, hlen);
    g_out.size -= sizeof(kRoom) - hlen;
  }

  lua_State *L_;
  msgpack_packer pk_;
  codec::TableGuard guard_;
};

// Pushes the Lua value of o; false (nothing pushed, *err set) if it has no
// Lua form.
bool push_object(lua_State *L, const msgpack_object &o, int depth, const char **err) {
  if (depth > kMaxDepth) {
    *err = "nesting deeper than 32 levels";
    return false;
  }
  if (!lua_checkstack(L, 4)) {
    *err = "nesting too deep for the Lua stack";
    return false;
  }
  switch (o.type) {
    case MSGPACK_OBJECT_NIL: lua_pushnil(L); return true;
    case MSGPACK_OBJECT_BOOLEAN: lua_pushboolean(L, o.via.boolean); return true;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: lua_pushinteger(L, static_cast<lua_Integer>(o.via.u64)); return true;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: lua_pushinteger(L, static_cast<lua_Integer>(o.via.i64)); return true;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: lua_pushnumber(L, o.via.f64); return true;
    case MSGPACK_OBJECT_STR: lua_pushlstring(L, o.via.str.ptr, o.via.str.size); return true;
    case MSGPACK_OBJECT_BIN: lua_pushlstring(L, o.via.bin.ptr, o.via.bin.size); return true;
    case MSGPACK_OBJECT_ARRAY: {
      const msgpack_object_array &a = o.via.array;
      lua_createtable(L, static_cast<int>(a.size), 0);
      for (uint32_t i = 0; i < a.size; i++) {
        if (!push_object(L, a.ptr[i], depth + 1, err)) {
          lua_pop(L, 1);
          return false;
        }
        lua_rawseti(L, -2, static_cast<lua_Integer>(i) + 1);
      }
      if (a.size == 0) luaL_setmetatable(L, kArrayMeta);
      return true;
    }
    case MSGPACK_OBJECT_MAP: {
      const msgpack_object_map &m = o.via.map;
      lua_createtable(L, 0, static_cast<int>(m.size));
      for (uint32_t i = 0; i < m.size; i++) {
        if (!push_object(L, m.ptr[i].key, depth + 1, err)) {
          lua_pop(L, 1);
          return false;
        }
        if (lua_isnil(L, -1) || (lua_type(L, -1) == LUA_TNUMBER && std::isnan(lua_tonumber(L, -1)))) {
          *err = "a map key is nil or NaN, which Lua tables cannot hold";
          lua_pop(L, 2);
          return false;
        }
        if (!push_object(L, m.ptr[i].val, depth + 1, err)) {
          lua_pop(L, 2);
          return false;
        }
        lua_rawset(L, -3);
      }
      return true;
    }
    default: *err = "extension types are not supported"; return false;
  }
}

// msgpack-c allocates a container's elements as soon as it reads the
// count, so a 5-byte "array of 2^32 elements" would ask for 96 GiB. This
// walk of the headers refuses, before msgpack-c sees the input, any
// container that claims more elements than there are bytes left (each
// element takes at least one). Truncated or corrupt input passes through
// for msgpack-c to name.
const char *implausible(const uint8_t *p, size_t n) {
  uint64_t pending[kMaxDepth + 2];
  int depth = 0;
  pending[0] = 1;
  size_t i = 0;
  auto be = [&](size_t bytes, uint64_t *v) {
    if (n - i < bytes) return false;
    *v = 0;
    for (size_t k = 0; k < bytes; k++) *v = *v << 8 | p[i + k];
    i += bytes;
    return true;
  };
  while (depth >= 0 && i < n) {
    if (pending[depth] == 0) {
      depth--;
      continue;
    }
    pending[depth]--;
    uint8_t b = p[i++];
    uint64_t count = 0, len = 0;
    bool container = false;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
      continue;
    } else if ((b & 0xf0) == 0x80) {
      count = 2u * (b & 0x0f);
      container = true;
    } else if ((b & 0xf0) == 0x90) {
      count = b & 0x0f;
      container = true;
    } else if ((b & 0xe0) == 0xa0) {
      len = b & 0x1f;
    } else {
      bool ok = true;
      switch (b) {
        case 0xc4:
        case 0xd9: ok = be(1, &len); break;
        case 0xc5:
        case 0xda: ok = be(2, &len); break;
        case 0xc6:
        case 0xdb: ok = be(4, &len); break;
        case 0xc7:
          ok = be(1, &len);
          len += 1;
          break;
        case 0xc8:
          ok = be(2, &len);
          len += 1;
          break;
        case 0xc9:
          ok = be(4, &len);
          len += 1;
          break;
        case 0xca:
        case 0xce:
        case 0xd2: len = 4; break;
        case 0xcb:
        case 0xcf:
        case 0xd3: len = 8; break;
        case 0xcc:
        case 0xd0: len = 1; break;
        case 0xcd:
        case 0xd1: len = 2; break;
        case 0xd4: len = 2; break;
        case 0xd5: len = 3; break;
        case 0xd6: len = 5; break;
        case 0xd7: len = 9; break;
        case 0xd8: len = 17; break;
        case 0xdc:
          ok = be(2, &count);
          container = true;
          break;
        case 0xdd:
          ok = be(4, &count);
          container = true;
          break;
        case 0xde:
          ok = be(2, &count);
          count *= 2;
          container = true;
          break;
        case 0xdf:
          ok = be(4, &count);
          count *= 2;
          container = true;
          break;
        default: return nullptr;  // 0xc1: msgpack-c says "corrupt"
      }
      if (!ok) return nullptr;
    }
    if (!container) {
      if (len > n - i) return nullptr;  // truncated: msgpack-c says so
      i += len;
      continue;
    }
    if (count > n - i) return "truncated input";  // more elements than bytes left
    if (depth + 1 > kMaxDepth) return "nesting deeper than 32 levels";
    pending[++depth] = count;
  }
  return nullptr;
}

int l_encode(lua_State *L) {
  luaL_checkany(L, 1);
  bool raw = lua_toboolean(L, 2);
  lua_settop(L, 1);
  g_out.size = 0;
  Packer(L).value(1);
  return codec::push_output(L, g_out.data, g_out.size, raw);
}

int fail(lua_State *L, const char *why) {
  lua_pushnil(L);
  lua_pushfstring(L, "msgpack.decode: %s", why);
  return 2;
}

int l_decode(lua_State *L) {
  const uint8_t *data;
  size_t size;
  codec::check_input(L, 1, "msgpack.decode", &data, &size);
  if (const char *why = implausible(data, size)) return fail(L, why);
  size_t used = 0;
  msgpack_unpack_return rc = msgpack_unpack_next(&g_unpacked, reinterpret_cast<const char *>(data), size, &used);
  if (rc == MSGPACK_UNPACK_CONTINUE) return fail(L, size == 0 ? "empty input" : "truncated input");
  if (rc == MSGPACK_UNPACK_NOMEM_ERROR) return fail(L, "out of memory");
  if (rc != MSGPACK_UNPACK_SUCCESS && rc != MSGPACK_UNPACK_EXTRA_BYTES) return fail(L, "corrupt input");
  const char *err = nullptr;
  if (!push_object(L, g_unpacked.data, 1, &err)) return fail(L, err);
  lua_pushinteger(L, static_cast<lua_Integer>(used));
  return 2;
}

// array(t) / map(t) / binary(s): mark a value's encoding; returns it.
int mark(lua_State *L, const char *meta) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  luaL_setmetatable(L, meta);
  return 1;
}
int l_array(lua_State *L) {
  return mark(L, kArrayMeta);
}
int l_map(lua_State *L) {
  return mark(L, kMapMeta);
}

int l_binary(lua_State *L) {
  luaL_checkstring(L, 1);
  lua_createtable(L, 1, 0);
  lua_pushvalue(L, 1);
  lua_rawseti(L, -2, 1);
  luaL_setmetatable(L, kBinaryMeta);
  return 1;
}

}  // namespace

extern "C" int luaopen_msgpack(lua_State *L) {
  luaL_newmetatable(L, kArrayMeta);
  luaL_newmetatable(L, kMapMeta);
  luaL_newmetatable(L, kBinaryMeta);
  lua_pop(L, 3);
  const luaL_Reg fns[] = {
      {"encode", l_encode}, {"decode", l_decode}, {"array", l_array},
      {"map", l_map},       {"binary", l_binary}, {nullptr, nullptr},
  };
  luaL_newlib(L, fns);
  return 1;
}
