#include <cstdio>
#include <cstring>

#include "codecs/protobuf/codec.h"

namespace pb {

namespace {

constexpr int kMaxDepth = 64;

class Decoder {
 public:
  Decoder(lua_State *L, Registry &reg, char *err, size_t errlen, int metas)
      : L_(L), reg_(reg), err_(err), errlen_(errlen), metas_(metas) {}

  // Pushes the message in [p, end); false with nothing pushed on error.
  bool message(const uint8_t *p, const uint8_t *end, const MessagePlan &plan, int depth) {
    if (depth > kMaxDepth) return fail("nesting deeper than 64 messages");
    if (!lua_checkstack(L_, 8)) return fail("nesting too deep for the Lua stack");
    int top = lua_gettop(L_);
    lua_createtable(L_, 0, static_cast<int>(plan.fields.size()));
    while (p < end) {
      uint64_t tag;
      if (!varint(&p, end, &tag)) return undo(top, "truncated field tag");
      auto number = static_cast<int>(tag >> 3);
      auto wt = static_cast<uint32_t>(tag & 7);
      if (number <= 0) return undo(top, "field number 0");
      if (wt > kFixed32) return undo(top, "invalid wire type");
      const FieldPlan *f = plan.find(number);
      bool ok;
      if (f == nullptr) {
        ok = skip(&p, end, wt, number, depth);  // unknown fields are skipped
      } else if (f->map) {
        ok = map_entry(&p, end, wt, *f, depth);
      } else if (f->repeated) {
        ok = repeated(&p, end, wt, *f, depth);
      } else {
        ok = value(&p, end, wt, *f, depth);
        if (ok) lua_setfield(L_, -2, f->name.c_str());
      }
      if (!ok) {
        lua_settop(L_, top);
        return false;
      }
    }
    defaults(plan);
    return true;
  }

 private:
  bool fail(const char *why) {
    std::snprintf(err_, errlen_, "protobuf.decode: %s", why);
    return false;
  }
  bool undo(int top, const char *why) {
    lua_settop(L_, top);
    return fail(why);
  }

  static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
      uint8_t b = *(*p)++;
      r |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (b < 0x80) {
        *v = r;
        return true;
      }
    }
    return false;
  }

  bool length(const uint8_t **p, const uint8_t *end, const uint8_t **body_end) {
    uint64_t n;
    if (!varint(p, end, &n)) return fail("truncated length");
    if (n > static_cast<uint64_t>(end - *p)) return fail("length runs past the end of the input");
    *body_end = *p + n;
    return true;
  }

  bool skip(const uint8_t **p, const uint8_t *end, uint32_t wt, int number, int depth) {
    uint64_t v;
    const uint8_t *e;
    switch (wt) {
      case kVarint: return varint(p, end, &v) || fail("truncated varint");
      case kFixed64:
        if (end - *p < 8) return fail("truncated fixed64");
        *p += 8;
        return true;
      case kFixed32:
        if (end - *p < 4) return fail("truncated fixed32");
        *p += 4;
        return true;
      case kLen:
        if (!length(p, end, &e)) return false;
        *p = e;
        return true;
      case kStartGroup:
        if (depth > kMaxDepth) return fail("groups nested too deep");
        while (*p < end) {
          uint64_t tag;
          if (!varint(p, end, &tag)) return fail("truncated group");
          if ((tag & 7) == kEndGroup) return static_cast<int>(tag >> 3) == number || fail("mismatched end of group");
          if (!skip(p, end, static_cast<uint32_t>(tag & 7), static_cast<int>(tag >> 3), depth + 1)) return false;
        }
        return fail("unterminated group");
      default: return fail("invalid wire type");
    }
  }

  // Pushes one value of field f read with wire type wt.
  bool value(const uint8_t **p, const uint8_t *end, uint32_t wt, const FieldPlan &f, int depth) {
    if (f.type == FieldDescriptor::TYPE_MESSAGE) {
      const uint8_t *e;
      if (wt != kLen) return fail("wrong wire type for a message field");
      if (!length(p, end, &e)) return false;
      if (!message(*p, e, *reg_.plan(f.sub), depth + 1)) return false;
      *p = e;
      return true;
    }
    uint32_t want = wire_type(f.type);
    if (wt != want) return fail("wrong wire type for the field's type");
    return scalar(p, end, f);
  }

  bool scalar(const uint8_t **p, const uint8_t *end, const FieldPlan &f) {
    uint64_t v = 0;
    switch (wire_type(f.type)) {
      case kVarint:
        if (!varint(p, end, &v)) return fail("truncated varint");
        break;
      case kFixed32:
        if (end - *p < 4) return fail("truncated fixed32");
        for (int i = 0; i < 4; i++) v |= static_cast<uint64_t>((*p)[i]) << (8 * i);
        *p += 4;
        break;
      case kFixed64:
        if (end - *p < 8) return fail("truncated fixed64");
        for (int i = 0; i < 8; i++) v |= static_cast<uint64_t>((*p)[i]) << (8 * i);
        *p += 8;
        break;
      case kLen: {
        const uint8_t *e;
        if (!length(p, end, &e)) return false;
        lua_pushlstring(L_, reinterpret_cast<const char *>(*p), static_cast<size_t>(e - *p));
        *p = e;
        return true;
      }
      default: return fail("unsupported field type");
    }
    switch (f.type) {
      case FieldDescriptor::TYPE_INT32:
      case FieldDescriptor::TYPE_SFIXED32: lua_pushinteger(L_, static_cast<int32_t>(v)); break;
      case FieldDescriptor::TYPE_UINT32:
      case FieldDescriptor::TYPE_FIXED32: lua_pushinteger(L_, static_cast<uint32_t>(v)); break;
      case FieldDescriptor::TYPE_SINT32: {
        auto u = static_cast<uint32_t>(v);
        lua_pushinteger(L_, static_cast<int32_t>((u >> 1) ^ (~(u & 1) + 1)));
        break;
      }
      case FieldDescriptor::TYPE_SINT64:
        lua_pushinteger(L_, static_cast<lua_Integer>((v >> 1) ^ (~(v & 1) + 1)));
        break;
      case FieldDescriptor::TYPE_BOOL: lua_pushboolean(L_, v != 0); break;
      case FieldDescriptor::TYPE_FLOAT: {
        auto bits = static_cast<uint32_t>(v);
        float fv;
        std::memcpy(&fv, &bits, 4);
        lua_pushnumber(L_, fv);
        break;
      }
      case FieldDescriptor::TYPE_DOUBLE: {
        double d;
        std::memcpy(&d, &v, 8);
        lua_pushnumber(L_, d);
        break;
      }
      case FieldDescriptor::TYPE_ENUM: {
        const auto *ev = f.fd->enum_type()->FindValueByNumber(static_cast<int32_t>(v));
        if (ev != nullptr) {
          lua_pushlstring(L_, ev->name().data(), ev->name().size());
        } else {
          lua_pushinteger(L_, static_cast<int32_t>(v));  // a value newer than our schema
        }
        break;
      }
      default:  // int64, uint64 (same bits), fixed64, sfixed64
        lua_pushinteger(L_, static_cast<lua_Integer>(v));
        break;
    }
    return true;
  }

  // The array for repeated field f in the table on top, created if absent.
  void array_of(const FieldPlan &f) {
    if (lua_getfield(L_, -1, f.name.c_str()) == LUA_TNIL) {
      lua_pop(L_, 1);
      lua_newtable(L_);
      lua_pushvalue(L_, -1);
      lua_setfield(L_, -3, f.name.c_str());
    }
  }

  bool repeated(const uint8_t **p, const uint8_t *end, uint32_t wt, const FieldPlan &f, int depth) {
    array_of(f);
    auto n = static_cast<lua_Integer>(lua_rawlen(L_, -1));
    bool packable = f.type != FieldDescriptor::TYPE_MESSAGE && f.type != FieldDescriptor::TYPE_STRING &&
                    f.type != FieldDescriptor::TYPE_BYTES && f.type != FieldDescriptor::TYPE_GROUP;
    if (packable && wt == kLen) {  // packed, whatever the schema says
      const uint8_t *e;
      if (!length(p, end, &e)) return false;
      while (*p < e) {
        if (!scalar(p, e, f)) return false;
        lua_rawseti(L_, -2, ++n);
      }
    } else {
      if (!value(p, end, wt, f, depth)) return false;
      lua_rawseti(L_, -2, ++n);
    }
    lua_pop(L_, 1);
    return true;
  }

  bool map_entry(const uint8_t **p, const uint8_t *end, uint32_t wt, const FieldPlan &f, int depth) {
    if (wt != kLen) return fail("wrong wire type for a map entry");
    const uint8_t *e;
    if (!length(p, end, &e)) return false;
    array_of(f);  // message, map
    if (!message(*p, e, *reg_.plan(f.sub), depth + 1)) {
      lua_pop(L_, 1);
      return false;
    }
    *p = e;
    // message, map, entry
    lua_getfield(L_, -1, "key");
    lua_getfield(L_, -2, "value");
    lua_rawset(L_, -4);  // map[key] = value
    lua_pop(L_, 2);      // the entry, the map
    return true;
  }

  // Absent repeated fields read back as empty tables; absent scalars
  // without observable presence read back as their defaults through the
  // message type's metatable, so they stay absent (and are not re-sent).
  void defaults(const MessagePlan &plan) {
    bool any = false;
    for (const FieldPlan &f : plan.fields) {
      any = any || f.fill_default;
      if (!f.repeated) continue;
      if (lua_getfield(L_, -1, f.name.c_str()) == LUA_TNIL) {
        lua_newtable(L_);
        lua_setfield(L_, -3, f.name.c_str());
      }
      lua_pop(L_, 1);
    }
    if (!any) return;
    push_defaults_meta(plan);
    lua_setmetatable(L_, -2);
  }

  // registry["protobuf.defaults"][plan] = {__index = {field = default}};
  // that table sits at stack index metas_ during the whole decode.
  void push_defaults_meta(const MessagePlan &plan) {
    if (lua_rawgetp(L_, metas_, &plan) != LUA_TNIL) return;
    lua_pop(L_, 1);
    lua_createtable(L_, 0, 1);
    lua_createtable(L_, 0, static_cast<int>(plan.fields.size()));
    for (const FieldPlan &f : plan.fields) {
      if (!f.fill_default) continue;
      const FieldDescriptor *fd = f.fd;
      switch (fd->cpp_type()) {
        case FieldDescriptor::CPPTYPE_INT32: lua_pushinteger(L_, fd->default_value_int32()); break;
        case FieldDescriptor::CPPTYPE_INT64: lua_pushinteger(L_, fd->default_value_int64()); break;
        case FieldDescriptor::CPPTYPE_UINT32: lua_pushinteger(L_, fd->default_value_uint32()); break;
        case FieldDescriptor::CPPTYPE_UINT64:
          lua_pushinteger(L_, static_cast<lua_Integer>(fd->default_value_uint64()));
          break;
        case FieldDescriptor::CPPTYPE_DOUBLE: lua_pushnumber(L_, fd->default_value_double()); break;
        case FieldDescriptor::CPPTYPE_FLOAT: lua_pushnumber(L_, fd->default_value_float()); break;
        case FieldDescriptor::CPPTYPE_BOOL: lua_pushboolean(L_, fd->default_value_bool()); break;
        case FieldDescriptor::CPPTYPE_ENUM: {
          const std::string &n = fd->default_value_enum()->name();
          lua_pushlstring(L_, n.data(), n.size());
          break;
        }
        case FieldDescriptor::CPPTYPE_STRING: {
          const std::string &str = fd->default_value_string();
          lua_pushlstring(L_, str.data(), str.size());
          break;
        }
        default: continue;
      }
      lua_setfield(L_, -2, f.name.c_str());
    }
    lua_setfield(L_, -2, "__index");
    lua_pushvalue(L_, -1);
    lua_rawsetp(L_, metas_, &plan);
  }

  lua_State *L_;
  Registry &reg_;
  char *err_;
  size_t errlen_;
  int metas_;
};

}  // namespace

bool decode(lua_State *L, const uint8_t *data, size_t size, const MessagePlan &plan, Registry &reg, char *err,
            size_t errlen) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, "protobuf.defaults");
  int metas = lua_gettop(L);
  bool ok = Decoder(L, reg, err, errlen, metas).message(data, data + size, plan, 1);
  lua_remove(L, metas);
  return ok;
}

}  // namespace pb
