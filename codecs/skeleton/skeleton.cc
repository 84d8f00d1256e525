// skeleton: the smallest complete codec plugin, to copy when writing one.
// It encodes a list of strings as records of [u32 LE length][bytes]:
//   skeleton.encode({"a", "bc"} [, raw]) -> string | lightuserdata, size
//   skeleton.decode(str) / skeleton.decode(ptr, size) -> list | nil, reason
// What every plugin does is marked "Rule": see codecs/README.md.
#include <cstring>
#include <lua.hpp>
#include <string>

#include "silly/codecs/common/codec.h"

namespace {

constexpr size_t kMaxRecords = 1u << 20;  // Rule: bound what input may ask for

// Rule: the output buffer lives outside any frame Lua may unwind (a static
// here), so a raise leaks nothing, and a raw result stays valid until the
// next encode.
std::string &out_buffer() {
  static std::string buf;
  return buf;
}

int l_encode(lua_State *L) {
  // Rule: misuse raises, naming the function.
  luaL_checktype(L, 1, LUA_TTABLE);
  bool raw = lua_toboolean(L, 2) != 0;
  std::string &out = out_buffer();
  out.clear();
  lua_Integer n = luaL_len(L, 1);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    if (s == nullptr) return luaL_error(L, "skeleton.encode: item %d is not a string", static_cast<int>(i));
    for (int b = 0; b < 4; b++) out.push_back(static_cast<char>((len >> (8 * b)) & 0xff));
    out.append(s, len);
    lua_pop(L, 1);
  }
  return codec::push_output(L, out.data(), out.size(), raw);
}

// Rule: bad input is an answer, nil and a reason, never a raise or a crash.
int fail(lua_State *L, const char *why) {
  lua_pushnil(L);
  lua_pushfstring(L, "skeleton.decode: %s", why);
  return 2;
}

int l_decode(lua_State *L) {
  const uint8_t *p;
  size_t size;
  codec::check_input(L, 1, "skeleton.decode", &p, &size);  // a string, or (ptr, size)
  lua_newtable(L);
  size_t at = 0;
  for (lua_Integer i = 1; at < size; i++) {
    if (static_cast<size_t>(i) > kMaxRecords) return fail(L, "too many records");
    if (size - at < 4) return fail(L, "truncated length");
    size_t len = static_cast<size_t>(p[at]) | static_cast<size_t>(p[at + 1]) << 8 |
                 static_cast<size_t>(p[at + 2]) << 16 | static_cast<size_t>(p[at + 3]) << 24;
    at += 4;
    if (len > size - at) return fail(L, "truncated record");
    lua_pushlstring(L, reinterpret_cast<const char *>(p + at), len);
    lua_rawseti(L, -2, i);
    at += len;
  }
  return 1;
}

}  // namespace

// Rule: the one symbol a plugin exports, named after its .so.
extern "C" int luaopen_skeleton(lua_State *L) {
  const luaL_Reg fns[] = {{"encode", l_encode}, {"decode", l_decode}, {nullptr, nullptr}};
  luaL_newlib(L, fns);
  return 1;
}
