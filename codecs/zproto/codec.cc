#include "codecs/zproto/codec.h"

#include <cstring>

namespace zproto {

namespace {

constexpr int kMaxDepth = 64;

void put_le(std::vector<uint8_t> *out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void patch_le(std::vector<uint8_t> *out, size_t at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) (*out)[at + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
}

uint64_t get_le(const uint8_t *p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

int width(Type t) {
  switch (t) {
    case Type::kBool:
    case Type::kByte:
    case Type::kUByte: return 1;
    case Type::kShort:
    case Type::kUShort: return 2;
    case Type::kInt:
    case Type::kUInt:
    case Type::kFloat: return 4;
    case Type::kLong:
    case Type::kULong: return 8;
    default: return 0;
  }
}

class Encoder {
 public:
  Encoder(lua_State *L, std::vector<uint8_t> *out) : L_(L), out_(out) {}

  void record(int idx, const Struct &st, int depth) {
    int outer = depth_;
    depth_ = depth;
    if (depth >= kMaxDepth) luaL_error(L_, "encode_table too deep:%d stkidx:%d \n", depth, lua_gettop(L_));
    idx = lua_absindex(L_, idx);
    luaL_checkstack(L_, 4, "zproto: nesting too deep");
    size_t start = out_->size();
    size_t nfields = st.fields.size();
    // Room for every field's tag delta; what is not used is closed up.
    out_->resize(start + 6 + 2 * nfields);
    size_t body = out_->size();
    int prev = st.base_tag() - 1;
    uint16_t present = 0;
    for (const Field &f : st.fields) {
      if (lua_getfield(L_, idx, f.name.c_str()) == LUA_TNIL) {
        lua_pop(L_, 1);
        continue;
      }
      patch_le(out_, start + 6 + 2 * present, static_cast<uint64_t>(f.tag - prev - 1), 2);
      present++;
      prev = f.tag;
      value(f);
      lua_pop(L_, 1);
    }
    size_t gap = 2 * (nfields - present);
    if (gap > 0) {
      std::memmove(out_->data() + body - gap, out_->data() + body, out_->size() - body);
      out_->resize(out_->size() - gap);
    }
    patch_le(out_, start, out_->size() - start - 4, 4);
    patch_le(out_, start + 4, present, 2);
    depth_ = outer;
  }

 private:
  [[noreturn]] void expected(const Field &f, const char *what) {
    lua_pushfstring(L_, "'%s':%s expected got %s\n", f.name.c_str(), what, luaL_typename(L_, -1));
    lua_error(L_);
    __builtin_unreachable();
  }

  // The value on top of the stack, as field f (array fields handled here).
  void value(const Field &f) {
    if (!f.array) {
      element(f);
      return;
    }
    if (lua_type(L_, -1) != LUA_TTABLE) expected(f, "table");
    size_t count_at = out_->size();
    put_le(out_, 0, 4);
    uint32_t count = 0;
    if (f.mapkey >= 0) {
      // The Lua keys are not written: each element carries its own key.
      lua_pushnil(L_);
      while (lua_next(L_, -2) != 0) {
        element(f);
        lua_pop(L_, 1);
        count++;
      }
    } else {
      for (lua_Integer i = 1;; i++) {
        if (lua_geti(L_, -1, i) == LUA_TNIL) {
          lua_pop(L_, 1);
          break;
        }
        element(f);
        lua_pop(L_, 1);
        count++;
      }
    }
    patch_le(out_, count_at, count, 4);
  }

  void element(const Field &f) {
    switch (f.type) {
      case Type::kBool:
        if (lua_type(L_, -1) != LUA_TBOOLEAN) expected(f, "boolean");
        out_->push_back(lua_toboolean(L_, -1) ? 1 : 0);
        return;
      case Type::kFloat: {
        if (lua_type(L_, -1) != LUA_TNUMBER) expected(f, "number");
        float v = static_cast<float>(lua_tonumber(L_, -1));
        uint32_t bits;
        std::memcpy(&bits, &v, 4);
        put_le(out_, bits, 4);
        return;
      }
      case Type::kString:
      case Type::kBlob: {
        if (lua_type(L_, -1) != LUA_TSTRING) expected(f, "string");
        size_t n;
        const char *s = lua_tolstring(L_, -1, &n);
        put_le(out_, n, 4);
        out_->insert(out_->end(), s, s + n);
        return;
      }
      case Type::kStruct:
        if (lua_type(L_, -1) != LUA_TTABLE) expected(f, "table");
        record(-1, *f.sub, depth_ + 1);
        return;
      default: {
        if (lua_type(L_, -1) != LUA_TNUMBER) expected(f, "number");
        int isnum = 0;
        lua_Integer v = lua_tointegerx(L_, -1, &isnum);
        if (!isnum) luaL_error(L_, "bad argument #-1 to 'encode' (number has no integer representation)");
        // Out-of-range values keep their low bits, as the original does.
        put_le(out_, static_cast<uint64_t>(v), width(f.type));
        return;
      }
    }
  }

  lua_State *L_;
  std::vector<uint8_t> *out_;
  int depth_ = 0;
};

class Decoder {
 public:
  explicit Decoder(lua_State *L) : L_(L) {}

  // Pushes the table for the record at p and sets *used; false (nothing
  // pushed) when malformed.
  bool record(const uint8_t *p, size_t avail, const Struct &st, int depth, size_t *used) {
    if (depth >= kMaxDepth || avail < 6) return false;
    uint64_t len = get_le(p, 4);
    if (avail - 4 < len) return false;
    uint32_t ntags = static_cast<uint32_t>(get_le(p + 4, 2));
    if (len < 2) {
      // The original accepts this only by accident of unsigned maths; with
      // no tags it is harmless, with tags it would read out of bounds.
      if (ntags != 0) return false;
      lua_createtable(L_, 0, 0);
      *used = 4 + len;
      return true;
    }
    if (2 * static_cast<uint64_t>(ntags) > len - 2) return false;
    luaL_checkstack(L_, 6, "zproto: nesting too deep");
    int top = lua_gettop(L_);
    size_t end = 4 + len;
    size_t pos = 6 + 2 * static_cast<size_t>(ntags);
    lua_createtable(L_, 0, static_cast<int>(ntags));
    int prev = st.base_tag() - 1;
    for (uint32_t k = 0; k < ntags; k++) {
      int tag = static_cast<int>(get_le(p + 6 + 2 * k, 2)) + prev + 1;
      const Field *f = st.find(tag);
      if (f == nullptr) break;  // unknown tag: the rest is skipped
      int r = field(p, end, &pos, *f, depth);
      if (r < 0) {
        lua_settop(L_, top);
        return false;
      }
      if (r > 0) lua_setfield(L_, -2, f->name.c_str());
      prev = tag;
    }
    *used = end;
    return true;
  }

 private:
  // Pushes field f read at *pos: 1 pushed, 0 absent, -1 malformed.
  int field(const uint8_t *p, size_t end, size_t *pos, const Field &f, int depth) {
    if (!f.array) return element(p, end, pos, f, depth) ? 1 : -1;
    if (end - *pos < 4) return -1;
    auto count = static_cast<int32_t>(get_le(p + *pos, 4));
    *pos += 4;
    if (count < 0) return 0;  // the original skips a "negative" count
    // Every element takes at least a byte: a larger count cannot be met,
    // and must not size a table before that is found out.
    if (static_cast<size_t>(count) > end - *pos) return -1;
    lua_createtable(L_, f.mapkey >= 0 ? 0 : count, f.mapkey >= 0 ? count : 0);
    for (int32_t i = 1; i <= count; i++) {
      if (!element(p, end, pos, f, depth)) {
        lua_pop(L_, 1);
        return -1;
      }
      if (f.mapkey >= 0) {
        lua_getfield(L_, -1, f.sub->fields[static_cast<size_t>(f.mapkey)].name.c_str());
        lua_insert(L_, -2);
        lua_settable(L_, -3);  // raises "table index is nil" for a missing key
      } else {
        lua_rawseti(L_, -2, i);
      }
    }
    return 1;
  }

  bool element(const uint8_t *p, size_t end, size_t *pos, const Field &f, int depth) {
    size_t left = end - *pos;
    const uint8_t *q = p + *pos;
    int w = width(f.type);
    switch (f.type) {
      case Type::kString:
      case Type::kBlob: {
        if (left < 4) return false;
        uint64_t n = get_le(q, 4);
        if (left - 4 < n) return false;
        lua_pushlstring(L_, reinterpret_cast<const char *>(q + 4), static_cast<size_t>(n));
        *pos += 4 + static_cast<size_t>(n);
        return true;
      }
      case Type::kStruct: {
        size_t used;
        if (!record(q, left, *f.sub, depth + 1, &used)) return false;
        *pos += used;
        return true;
      }
      default: break;
    }
    if (left < static_cast<size_t>(w)) return false;
    uint64_t v = get_le(q, w);
    *pos += static_cast<size_t>(w);
    switch (f.type) {
      case Type::kBool: lua_pushboolean(L_, v != 0); break;
      case Type::kByte: lua_pushinteger(L_, static_cast<int8_t>(v)); break;
      case Type::kUByte: lua_pushinteger(L_, static_cast<uint8_t>(v)); break;
      case Type::kShort: lua_pushinteger(L_, static_cast<int16_t>(v)); break;
      case Type::kUShort: lua_pushinteger(L_, static_cast<uint16_t>(v)); break;
      case Type::kInt: lua_pushinteger(L_, static_cast<int32_t>(v)); break;
      case Type::kUInt: lua_pushinteger(L_, static_cast<uint32_t>(v)); break;
      case Type::kFloat: {
        auto bits = static_cast<uint32_t>(v);
        float fv;
        std::memcpy(&fv, &bits, 4);
        lua_pushnumber(L_, static_cast<lua_Number>(fv));
        break;
      }
      default:  // long and ulong: uint64 reads back as signed int64
        lua_pushinteger(L_, static_cast<lua_Integer>(v));
        break;
    }
    return true;
  }

  lua_State *L_;
};

}  // namespace

void encode(lua_State *L, int idx, const Struct &st, std::vector<uint8_t> *out) {
  Encoder(L, out).record(idx, st, 0);
}

long decode(lua_State *L, const uint8_t *data, size_t size, const Struct &st) {
  size_t used = 0;
  if (!Decoder(L).record(data, size, st, 0, &used)) return -1;
  return static_cast<long>(used);
}

void push_default(lua_State *L, const Struct &st) {
  luaL_checkstack(L, 4, "zproto: nesting too deep");
  lua_createtable(L, 0, static_cast<int>(st.fields.size()));
  for (const Field &f : st.fields) {
    if (f.array) {
      lua_newtable(L);
    } else {
      switch (f.type) {
        case Type::kBool: lua_pushboolean(L, 0); break;
        case Type::kFloat: lua_pushnumber(L, 0.0); break;
        case Type::kString:
        case Type::kBlob: lua_pushliteral(L, ""); break;
        case Type::kStruct: push_default(L, *f.sub); break;
        default: lua_pushinteger(L, 0); break;
      }
    }
    lua_setfield(L, -2, f.name.c_str());
  }
}

}  // namespace zproto
