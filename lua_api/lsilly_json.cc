// silly.encoding.json: JSON to and from Lua values on RapidJSON's SAX reader
// and writer (no DOM: the reader's events build the Lua tables directly, the
// writer is fed straight from the Lua tables).
//
// encode(v) -> string. Raises "json.encode: ..." for what JSON cannot hold.
// decode(s) -> value, next (the 1-based index after the value), or
// nil, "json.decode: <reason> at offset <n>".
//
// The Lua mapping is the original framework's: a table is an array when
// t[1] ~= nil or it is empty (so {} is "[]"), written as t[1], t[2], ...
// up to the first nil; otherwise an object whose keys are strings or
// numbers (written as their tostring form). null decodes to nil (a hole in
// an array). '/' is not escaped. Otherwise RFC 8259: the other control
// characters are written as \u00XX, NaN and infinities are refused, numbers
// that fit an int64 decode as integers, the rest as correctly rounded
// floats, and \uXXXX escapes (surrogate pairs too) decode to UTF-8.
// String bytes pass through unchecked both ways: Lua strings are bytes.
#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <lua.hpp>
#include <string>
#include <vector>

#include "silly/lua_api/batteries.h"

namespace silly {

namespace {

// Deeper than any document a game sends, shallow enough that a cycle or a
// hostile input fails fast; both directions stop here.
constexpr int kMaxDepth = 1000;

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// ---- encode

// A raise from a writer callback must not skip the buffer's destructor, so
// encode() reports failures through this instead and raises after.
struct EncodeError {
  char text[160] = {0};
  bool set = false;
};

bool encode_value(lua_State *L, int idx, JsonWriter &w, int depth, EncodeError &err);

bool encode_number(lua_State *L, int idx, JsonWriter &w, EncodeError &err) {
  if (lua_isinteger(L, idx)) return w.Int64(static_cast<int64_t>(lua_tointeger(L, idx)));
  double d = lua_tonumber(L, idx);
  if (!std::isfinite(d)) {
    snprintf(err.text, sizeof(err.text), "json.encode: cannot encode %s (JSON has no NaN or infinity)",
             std::isnan(d) ? "nan" : (d > 0 ? "inf" : "-inf"));
    err.set = true;
    return false;
  }
  return w.Double(d);
}

// Object keys: strings as they are, numbers in their tostring form.
bool encode_key(lua_State *L, int idx, JsonWriter &w, EncodeError &err) {
  int t = lua_type(L, idx);
  if (t == LUA_TSTRING) {
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    return w.Key(s, static_cast<rapidjson::SizeType>(len));
  }
  if (t == LUA_TNUMBER) {
    size_t len;
    lua_pushvalue(L, idx);  // lua_tolstring would turn the key itself into a string
    const char *s = lua_tolstring(L, -1, &len);
    bool ok = w.Key(s, static_cast<rapidjson::SizeType>(len));
    lua_pop(L, 1);
    return ok;
  }
  snprintf(err.text, sizeof(err.text), "json.encode: object keys must be strings or numbers, got %s",
           lua_typename(L, t));
  err.set = true;
  return false;
}

bool encode_table(lua_State *L, int idx, JsonWriter &w, int depth, EncodeError &err) {
  if (depth >= kMaxDepth) {
    snprintf(err.text, sizeof(err.text), "json.encode: tables nested deeper than %d (a cycle?)", kMaxDepth);
    err.set = true;
    return false;
  }
  if (!lua_checkstack(L, 4)) {
    snprintf(err.text, sizeof(err.text), "json.encode: out of Lua stack");
    err.set = true;
    return false;
  }
  bool is_array = lua_rawgeti(L, idx, 1) != LUA_TNIL;
  lua_pop(L, 1);
  if (!is_array) {
    lua_pushnil(L);
    if (lua_next(L, idx) == 0) {
      is_array = true;  // empty: the original framework writes "[]"
    } else {
      lua_pop(L, 2);
    }
  }
  if (is_array) {
    if (!w.StartArray()) return false;
    for (lua_Integer i = 1;; i++) {
      if (lua_rawgeti(L, idx, i) == LUA_TNIL) {
        lua_pop(L, 1);
        break;
      }
      bool ok = encode_value(L, lua_gettop(L), w, depth + 1, err);
      lua_pop(L, 1);
      if (!ok) return false;
    }
    return w.EndArray();
  }
  if (!w.StartObject()) return false;
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    int top = lua_gettop(L);
    if (!encode_key(L, top - 1, w, err) || !encode_value(L, top, w, depth + 1, err)) {
      lua_pop(L, 2);
      return false;
    }
    lua_pop(L, 1);
  }
  return w.EndObject();
}

bool encode_value(lua_State *L, int idx, JsonWriter &w, int depth, EncodeError &err) {
  switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(L, idx, &len);
      return w.String(s, static_cast<rapidjson::SizeType>(len));
    }
    case LUA_TNUMBER: return encode_number(L, idx, w, err);
    case LUA_TBOOLEAN: return w.Bool(lua_toboolean(L, idx) != 0);
    case LUA_TTABLE: return encode_table(L, idx, w, depth, err);
    case LUA_TNIL: return w.Null();
    default:
      snprintf(err.text, sizeof(err.text), "json.encode: cannot encode a %s", luaL_typename(L, idx));
      err.set = true;
      return false;
  }
}

int l_encode(lua_State *L) {
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  EncodeError err;
  bool ok;
  {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    ok = encode_value(L, 1, w, 0, err);
    if (ok) lua_pushlstring(L, buf.GetString(), buf.GetSize());
  }
  if (!ok) {
    if (!err.set) return luaL_error(L, "json.encode: a string is too long");
    return luaL_error(L, "%s", err.text);
  }
  return 1;
}

// ---- decode

// RapidJSON's SAX events, turned into Lua values on the stack. Each open
// container keeps its table on the stack (and, in an object, the pending
// key above it); `next_index_` holds the next array slot of each level.
class LuaBuilder {
 public:
  explicit LuaBuilder(lua_State *L) : L_(L) {}

  bool Null() { return skip_value(); }
  bool Bool(bool b) {
    lua_pushboolean(L_, b);
    return store();
  }
  // Numbers come as their text (kParseNumbersAsStringsFlag) and Lua's own
  // conversion reads them: an integer when the text is one and fits an
  // int64, a float otherwise, correctly rounded by strtod. (RapidJSON
  // 1.1's full-precision path misreads some long mantissas.)
  bool RawNumber(const char *s, rapidjson::SizeType len, bool) {
    number_.assign(s, len);
    if (lua_stringtonumber(L_, number_.c_str()) == 0) return false;
    if (!lua_isinteger(L_, -1) && !std::isfinite(lua_tonumber(L_, -1))) {
      lua_pop(L_, 1);
      out_of_range_ = true;
      return false;
    }
    return store();
  }
  bool Int(int) { return false; }
  bool Uint(unsigned) { return false; }
  bool Int64(int64_t) { return false; }
  bool Uint64(uint64_t) { return false; }
  bool Double(double) { return false; }
  bool String(const char *s, rapidjson::SizeType len, bool) {
    lua_pushlstring(L_, s, len);
    return store();
  }
  bool Key(const char *s, rapidjson::SizeType len, bool) {
    if (!lua_checkstack(L_, 2)) return false;
    lua_pushlstring(L_, s, len);
    return true;
  }
  bool StartObject() { return open(0); }
  bool EndObject(rapidjson::SizeType) { return close(); }
  bool StartArray() { return open(1); }
  bool EndArray(rapidjson::SizeType) { return close(); }

  bool too_deep() const { return too_deep_; }
  bool out_of_range() const { return out_of_range_; }

 private:
  // The value on top goes into the open container, if there is one (a
  // top-level value stays on the stack as the result).
  bool store() {
    if (next_index_.empty()) return true;
    lua_Integer &slot = next_index_.back();
    if (slot > 0) {
      lua_rawseti(L_, -2, slot++);
    } else {
      lua_rawset(L_, -3);  // table, key, value
    }
    return true;
  }
  // null: an array slot stays empty; an object drops the key.
  bool skip_value() {
    if (next_index_.empty()) {
      lua_pushnil(L_);
      return true;
    }
    lua_Integer &slot = next_index_.back();
    if (slot > 0) {
      slot++;
    } else {
      lua_pop(L_, 1);
    }
    return true;
  }
  bool open(lua_Integer first_slot) {
    if (next_index_.size() >= static_cast<size_t>(kMaxDepth)) {
      too_deep_ = true;
      return false;
    }
    if (!lua_checkstack(L_, 3)) return false;
    lua_createtable(L_, 0, 0);
    next_index_.push_back(first_slot);
    return true;
  }
  bool close() {
    next_index_.pop_back();
    return store();
  }

  lua_State *L_;
  std::vector<lua_Integer> next_index_;  // 0 for an object
  std::string number_;
  bool too_deep_ = false;
  bool out_of_range_ = false;
};

bool is_json_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int l_decode(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_settop(L, 1);
  rapidjson::ParseResult result;
  size_t consumed = 0;
  bool too_deep = false;
  bool out_of_range = false;
  {
    LuaBuilder builder(L);
    rapidjson::Reader reader;
    rapidjson::StringStream in(s);
    constexpr unsigned kFlags =
        rapidjson::kParseIterativeFlag | rapidjson::kParseStopWhenDoneFlag | rapidjson::kParseNumbersAsStringsFlag;
    result = reader.Parse<kFlags>(in, builder);
    consumed = in.Tell();
    too_deep = builder.too_deep();
    out_of_range = builder.out_of_range();
  }
  if (result.IsError()) {
    lua_settop(L, 1);
    lua_pushnil(L);
    if (too_deep) {
      lua_pushfstring(L, "json.decode: nesting deeper than %d at offset %d", kMaxDepth,
                      static_cast<int>(result.Offset()));
    } else if (out_of_range) {
      lua_pushfstring(L, "json.decode: number too big at offset %d", static_cast<int>(result.Offset()));
    } else if (result.Offset() >= len && result.Code() != rapidjson::kParseErrorDocumentEmpty) {
      lua_pushfstring(L, "json.decode: unexpected end of text at offset %d", static_cast<int>(len));
    } else {
      // RapidJSON's texts end with a full stop; ours go on with the offset.
      const char *why = rapidjson::GetParseError_En(result.Code());
      size_t n = strlen(why);
      if (n > 0 && why[n - 1] == '.') n--;
      lua_pushfstring(L, "json.decode: %s at offset %d", std::string(why, n).c_str(),
                      static_cast<int>(result.Offset()));
    }
    return 2;
  }
  // The text holds one value: only blanks may follow it. (The reader
  // stops at a NUL byte too, which lands here as well.)
  size_t end = consumed;
  while (end < len && is_json_space(s[end])) end++;
  if (end < len) {
    lua_settop(L, 1);
    lua_pushnil(L);
    lua_pushfstring(L, "json.decode: unexpected text after the value at offset %d", static_cast<int>(consumed));
    return 2;
  }
  lua_pushinteger(L, static_cast<lua_Integer>(consumed) + 1);
  return 2;
}

}  // namespace

int open_silly_json(lua_State *L) {
  const luaL_Reg fns[] = {
      {"encode", l_encode},
      {"decode", l_decode},
      {nullptr, nullptr},
  };
  luaL_newlib(L, fns);
  return 1;
}

}  // namespace silly
