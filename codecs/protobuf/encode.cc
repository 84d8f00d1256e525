#include <cmath>
#include <cstring>

#include "codecs/protobuf/codec.h"
#include "silly/codecs/common/codec.h"

namespace pb {

namespace {

constexpr int kMaxDepth = 64;

void varint(std::vector<uint8_t> *out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<uint8_t>(v));
}

void fixed(std::vector<uint8_t> *out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

size_t varint_len(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

class Encoder {
 public:
  Encoder(lua_State *L, Registry &reg, std::vector<uint8_t> *out)
      : L_(L), reg_(reg), out_(out), guard_(L, "protobuf.encode", kMaxDepth) {}

  void message(int idx, const MessagePlan &plan) {
    idx = lua_absindex(L_, idx);
    luaL_checkstack(L_, 8, "protobuf.encode: nesting too deep");
    guard_.enter(idx);
    // Raw reads: defaults a decoded table shows through its metatable are
    // not values that were sent.
    for (const FieldPlan &f : plan.fields) {
      lua_pushlstring(L_, f.name.data(), f.name.size());
      if (lua_rawget(L_, idx) != LUA_TNIL) field(f);
      lua_pop(L_, 1);
    }
    guard_.leave();
  }

 private:
  [[noreturn]] void fail(const FieldPlan &f, const char *what) {
    lua_pushfstring(L_, "protobuf.encode: field '%s': %s, got %s", f.fd->full_name().c_str(), what,
                    luaL_typename(L_, -1));
    lua_error(L_);
    __builtin_unreachable();
  }

  // The value on top of the stack, as field f.
  void field(const FieldPlan &f) {
    if (f.map) {
      map_entries(f);
    } else if (f.repeated) {
      if (lua_type(L_, -1) != LUA_TTABLE) fail(f, "a table (array) expected");
      lua_Integer n = static_cast<lua_Integer>(lua_rawlen(L_, -1));
      if (n == 0) return;
      if (f.packed) {
        varint(out_, f.tag);
        size_t at = begin_len();
        for (lua_Integer i = 1; i <= n; i++) {
          lua_rawgeti(L_, -1, i);
          scalar(f);
          lua_pop(L_, 1);
        }
        end_len(at);
      } else {
        for (lua_Integer i = 1; i <= n; i++) {
          lua_rawgeti(L_, -1, i);
          single(f);
          lua_pop(L_, 1);
        }
      }
    } else {
      if (f.implicit && is_default(f)) return;
      single(f);
    }
  }

  // One tagged value (not packed).
  void single(const FieldPlan &f) {
    varint(out_, f.tag);
    if (f.type == FieldDescriptor::TYPE_MESSAGE) {
      if (lua_type(L_, -1) != LUA_TTABLE) fail(f, "a table (message) expected");
      size_t at = begin_len();
      message(-1, *reg_.plan(f.sub));
      end_len(at);
    } else if (f.type == FieldDescriptor::TYPE_GROUP) {
      fail(f, "groups are not supported");
    } else {
      scalar(f);
    }
  }

  void map_entries(const FieldPlan &f) {
    if (lua_type(L_, -1) != LUA_TTABLE) fail(f, "a table (map) expected");
    const MessagePlan &entry = *reg_.plan(f.sub);
    const FieldPlan &key = entry.fields[0];
    const FieldPlan &val = entry.fields[1];
    lua_pushnil(L_);
    while (lua_next(L_, -2) != 0) {
      varint(out_, f.tag);
      size_t at = begin_len();
      lua_pushvalue(L_, -2);  // the key, on top
      single(key);
      lua_pop(L_, 1);
      single(val);  // the value, on top
      end_len(at);
      lua_pop(L_, 1);
    }
  }

  bool is_default(const FieldPlan &f) {
    switch (lua_type(L_, -1)) {
      case LUA_TBOOLEAN: return !lua_toboolean(L_, -1);
      case LUA_TSTRING:
        if (f.type == FieldDescriptor::TYPE_ENUM) {
          const auto *v = f.fd->enum_type()->FindValueByName(lua_tostring(L_, -1));
          return v != nullptr && v->number() == 0;
        }
        return lua_rawlen(L_, -1) == 0;
      case LUA_TNUMBER:
        if (lua_isinteger(L_, -1)) return lua_tointeger(L_, -1) == 0;
        {
          double d = lua_tonumber(L_, -1);
          return d == 0 && !std::signbit(d);  // -0.0 is sent, as libprotobuf does
        }
      default: return false;
    }
  }

  int64_t integer(const FieldPlan &f) {
    if (lua_type(L_, -1) != LUA_TNUMBER) fail(f, "an integer expected");
    int isnum = 0;
    lua_Integer v = lua_tointegerx(L_, -1, &isnum);
    if (!isnum) fail(f, "an integer expected (the number has a fraction)");
    return v;
  }

  int64_t ranged(const FieldPlan &f, int64_t lo, int64_t hi, const char *what) {
    int64_t v = integer(f);
    if (v < lo || v > hi) fail(f, what);
    return v;
  }

  // A scalar value, without its tag.
  void scalar(const FieldPlan &f) {
    switch (f.type) {
      case FieldDescriptor::TYPE_INT32:
        varint(out_, static_cast<uint64_t>(ranged(f, INT32_MIN, INT32_MAX, "an int32 in range expected")));
        return;
      case FieldDescriptor::TYPE_INT64:
      case FieldDescriptor::TYPE_UINT64: varint(out_, static_cast<uint64_t>(integer(f))); return;
      case FieldDescriptor::TYPE_UINT32:
        varint(out_, static_cast<uint64_t>(ranged(f, 0, UINT32_MAX, "a uint32 in range expected")));
        return;
      case FieldDescriptor::TYPE_SINT32: {
        auto v = static_cast<int32_t>(ranged(f, INT32_MIN, INT32_MAX, "an int32 in range expected"));
        varint(out_, (static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31));
        return;
      }
      case FieldDescriptor::TYPE_SINT64: {
        int64_t v = integer(f);
        varint(out_, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
        return;
      }
      case FieldDescriptor::TYPE_FIXED32:
        fixed(out_, static_cast<uint64_t>(ranged(f, 0, UINT32_MAX, "a uint32 in range expected")), 4);
        return;
      case FieldDescriptor::TYPE_SFIXED32:
        fixed(out_, static_cast<uint32_t>(ranged(f, INT32_MIN, INT32_MAX, "an int32 in range expected")), 4);
        return;
      case FieldDescriptor::TYPE_FIXED64:
      case FieldDescriptor::TYPE_SFIXED64: fixed(out_, static_cast<uint64_t>(integer(f)), 8); return;
      case FieldDescriptor::TYPE_BOOL:
        if (lua_type(L_, -1) != LUA_TBOOLEAN) fail(f, "a boolean expected");
        out_->push_back(lua_toboolean(L_, -1) ? 1 : 0);
        return;
      case FieldDescriptor::TYPE_FLOAT: {
        if (lua_type(L_, -1) != LUA_TNUMBER) fail(f, "a number expected");
        float v = static_cast<float>(lua_tonumber(L_, -1));
        uint32_t bits;
        std::memcpy(&bits, &v, 4);
        fixed(out_, bits, 4);
        return;
      }
      case FieldDescriptor::TYPE_DOUBLE: {
        if (lua_type(L_, -1) != LUA_TNUMBER) fail(f, "a number expected");
        double v = lua_tonumber(L_, -1);
        uint64_t bits;
        std::memcpy(&bits, &v, 8);
        fixed(out_, bits, 8);
        return;
      }
      case FieldDescriptor::TYPE_ENUM: {
        if (lua_type(L_, -1) == LUA_TSTRING) {
          const auto *v = f.fd->enum_type()->FindValueByName(lua_tostring(L_, -1));
          if (v == nullptr) fail(f, "a value name of its enum expected");
          varint(out_, static_cast<uint64_t>(static_cast<int64_t>(v->number())));
          return;
        }
        varint(out_, static_cast<uint64_t>(ranged(f, INT32_MIN, INT32_MAX, "an enum name or number expected")));
        return;
      }
      case FieldDescriptor::TYPE_STRING:
      case FieldDescriptor::TYPE_BYTES: {
        if (lua_type(L_, -1) != LUA_TSTRING) fail(f, "a string expected");
        size_t n;
        const char *s = lua_tolstring(L_, -1, &n);
        varint(out_, n);
        out_->insert(out_->end(), s, s + n);
        return;
      }
      default: fail(f, "a supported type");
    }
  }

  // A length prefix is written after its contents: one byte is reserved,
  // and the contents move up when the length needs more.
  size_t begin_len() {
    out_->push_back(0);
    return out_->size();
  }

  void end_len(size_t start) {
    size_t len = out_->size() - start;
    size_t need = varint_len(len);
    if (need > 1) {
      out_->insert(out_->begin() + static_cast<long>(start), need - 1, 0);
    }
    size_t at = start - 1;
    uint64_t v = len;
    for (size_t i = 0; i < need; i++) {
      (*out_)[at + i] = static_cast<uint8_t>((v & 0x7f) | (i + 1 < need ? 0x80 : 0));
      v >>= 7;
    }
  }

  lua_State *L_;
  Registry &reg_;
  std::vector<uint8_t> *out_;
  codec::TableGuard guard_;
};

}  // namespace

void encode(lua_State *L, int idx, const MessagePlan &plan, Registry &reg, std::vector<uint8_t> *out) {
  Encoder(L, reg, out).message(idx, plan);
}

}  // namespace pb
