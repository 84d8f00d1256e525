// require "zproto": the zproto codec as a Lua plugin (zproto.so).
//
// Methods are called with a colon on the module table or on a proto
// object from zproto:parse; see the project's zproto specification for
// every argument quirk kept here for compatibility.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <lua.hpp>
#include <new>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "codecs/zproto/codec.h"
#include "codecs/zproto/pack.h"
#include "codecs/zproto/schema.h"
#include "silly/codecs/common/codec.h"

namespace {

constexpr char kSchemaMeta[] = "zproto.schema";

// The userdata behind proto.proto.
struct Handle {
  std::unique_ptr<zproto::Schema> schema;
  // Tag 0 is ambiguous; once a tag-0 struct is looked up by name, 0 means it.
  const zproto::Struct *zero = nullptr;
};

// Each function's raw results point into its own buffer and stay valid
// until the next call of that function.
std::vector<uint8_t> g_encode_buf;
std::vector<uint8_t> g_pack_buf;
std::vector<uint8_t> g_unpack_buf;

Handle *self_handle(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "proto");
  auto *h = static_cast<Handle *>(luaL_testudata(L, -1, kSchemaMeta));
  lua_pop(L, 1);  // the proto table keeps the userdata alive
  if (h == nullptr) luaL_error(L, "zproto: method called on something that is not a parsed proto");
  return h;
}

const zproto::Struct *lookup(lua_State *L, Handle *h, int idx) {
  int t = lua_type(L, idx);
  if (t == LUA_TSTRING) {
    const zproto::Struct *st = h->schema->by_name(lua_tostring(L, idx));
    if (st != nullptr && st->tag == 0) h->zero = st;
    return st;
  }
  if (t == LUA_TNUMBER) {
    lua_Integer tag = lua_tointeger(L, idx);  // 3.5 becomes 0, as in the original
    if (tag == 0 && h->zero != nullptr) return h->zero;
    return h->schema->by_tag(tag);
  }
  luaL_error(L, "integer/string expected got:%d\n", t);
  return nullptr;
}

int handle_gc(lua_State *L) {
  auto *h = static_cast<Handle *>(luaL_checkudata(L, 1, kSchemaMeta));
  h->~Handle();
  return 0;
}

// Shared tail of parse and load: returns proto or nil, err.
int new_proto(lua_State *L, const std::string &text) {
  std::string error;
  auto schema = zproto::Schema::parse(text.substr(0, std::strlen(text.c_str())), &error);
  if (schema == nullptr) {
    lua_pushnil(L);
    lua_pushlstring(L, error.data(), error.size());
    return 2;
  }
  lua_createtable(L, 0, 3);
  auto *h = static_cast<Handle *>(lua_newuserdatauv(L, sizeof(Handle), 0));
  new (h) Handle();  // placement: the userdata's __gc runs the destructor
  h->schema = std::move(schema);
  luaL_setmetatable(L, kSchemaMeta);
  lua_setfield(L, -2, "proto");
  lua_newtable(L);
  lua_setfield(L, -2, "pcache");
  lua_newtable(L);
  lua_setfield(L, -2, "nametag");
  // The metatable of proto objects: __index is the module table.
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_setmetatable(L, -2);
  return 1;
}

// zproto:parse(text)
int l_parse(lua_State *L) {
  size_t n;
  const char *text = luaL_checklstring(L, 2, &n);
  return new_proto(L, std::string(text, n));
}

// zproto:load(path)
int l_load(lua_State *L) {
  const char *path = luaL_checkstring(L, 2);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    lua_pushnil(L);
    lua_pushfstring(L, "zproto.load: cannot open %s: %s", path, std::strerror(errno));
    return 2;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return new_proto(L, ss.str());
}

// proto:tag(name) -> tag | proto:tag(tag) -> name
int l_tag(lua_State *L) {
  Handle *h = self_handle(L);
  if (lua_type(L, 2) == LUA_TSTRING) {
    const zproto::Struct *st = h->schema->by_name(lua_tostring(L, 2));
    if (st != nullptr) {
      lua_pushinteger(L, st->tag);
      return 1;
    }
  } else if (lua_type(L, 2) == LUA_TNUMBER) {
    const zproto::Struct *st = h->schema->by_tag(lua_tointeger(L, 2));
    if (st != nullptr) {
      lua_pushlstring(L, st->name.data(), st->name.size());
      return 1;
    }
  }
  lua_pushnil(L);
  return 1;
}

// proto:encode(typ, body [, raw]) -> string | lightuserdata, size
int l_encode(lua_State *L) {
  Handle *h = self_handle(L);
  const zproto::Struct *st = lookup(L, h, 2);
  if (st == nullptr) return luaL_error(L, "encode: 'struct' is null");
  bool raw = lua_toboolean(L, 4);
  g_encode_buf.clear();
  zproto::encode(L, 3, *st, &g_encode_buf);
  return codec::push_output(L, g_encode_buf.data(), g_encode_buf.size(), raw);
}

// Reads (data, size) the way decode, pack and unpack do: a string is used
// whole; anything else is a pointer with an integer size at idx + 1.
bool input(lua_State *L, int idx, const uint8_t **data, size_t *size) {
  if (lua_type(L, idx) == LUA_TSTRING) {
    *data = reinterpret_cast<const uint8_t *>(lua_tolstring(L, idx, size));
    return true;
  }
  *data = static_cast<const uint8_t *>(lua_touserdata(L, idx));
  lua_Integer n = luaL_checkinteger(L, idx + 1);
  luaL_argcheck(L, n >= 0, idx + 1, "size must not be negative");
  *size = static_cast<size_t>(n);
  return false;
}

// proto:decode(typ, data [, size]) -> table, consumed | nil, -3
int l_decode(lua_State *L) {
  Handle *h = self_handle(L);
  const zproto::Struct *st = lookup(L, h, 2);
  if (st == nullptr) return luaL_error(L, "decode: 'struct' is null");
  const uint8_t *data;
  size_t size;
  input(L, 3, &data, &size);
  if (data == nullptr && size > 0) return luaL_error(L, "decode: data must be a string or lightuserdata");
  long used = zproto::decode(L, data, size, *st);
  if (used < 0) {
    lua_pushnil(L);
    lua_pushinteger(L, -3);
    return 2;
  }
  lua_pushinteger(L, used);
  return 2;
}

// The bytes to work on, copied aside when they live in `dst` itself (e.g.
// pack of pack's own raw result).
const uint8_t *stable_input(const uint8_t *data, size_t size, const std::vector<uint8_t> &dst,
                            std::vector<uint8_t> *copy) {
  const uint8_t *lo = dst.data();
  if (size > 0 && lo != nullptr && data >= lo && data < lo + dst.capacity()) {
    copy->assign(data, data + size);
    return copy->data();
  }
  return data;
}

// pack/unpack(data, size, raw): with a string, the size slot is the raw flag.
int pack_or_unpack(lua_State *L, bool packing) {
  const uint8_t *data;
  size_t size;
  bool raw = input(L, 2, &data, &size) ? lua_toboolean(L, 3) : lua_toboolean(L, 4);
  std::vector<uint8_t> &dst = packing ? g_pack_buf : g_unpack_buf;
  std::vector<uint8_t> copy;
  data = stable_input(data, size, dst, &copy);
  if (packing) {
    zproto::pack(data, size, &dst);
  } else if (!zproto::unpack(data, size, &dst)) {
    return 0;
  }
  return codec::push_output(L, dst.data(), dst.size(), raw);
}

int l_pack(lua_State *L) {
  return pack_or_unpack(L, true);
}
int l_unpack(lua_State *L) {
  return pack_or_unpack(L, false);
}

// proto:default(typ)
int l_default(lua_State *L) {
  Handle *h = self_handle(L);
  const zproto::Struct *st = lookup(L, h, 2);
  if (st == nullptr) return 0;
  zproto::push_default(L, *st);
  return 1;
}

// Iterator state for travel: upvalue 1 the proto table (keeps the schema
// alive), 2 a lightuserdata of the struct (or nil for the top level).
int travel_structs(lua_State *L) {
  auto *h = static_cast<Handle *>(lua_touserdata(L, lua_upvalueindex(1)));
  auto *parent = static_cast<const zproto::Struct *>(lua_touserdata(L, lua_upvalueindex(2)));
  lua_Integer i = luaL_checkinteger(L, 2) + 1;
  const auto &list = parent != nullptr ? parent->children : h->schema->structs();
  if (i > static_cast<lua_Integer>(list.size())) return 0;
  const zproto::Struct *st = list[static_cast<size_t>(i - 1)].get();
  lua_pushinteger(L, i);
  lua_pushlstring(L, st->name.data(), st->name.size());
  if (parent != nullptr) return 2;
  lua_pushlightuserdata(L, const_cast<zproto::Struct *>(st));
  return 3;
}

int travel_fields(lua_State *L) {
  auto *st = static_cast<const zproto::Struct *>(lua_touserdata(L, lua_upvalueindex(2)));
  lua_Integer i = luaL_checkinteger(L, 2) + 1;
  if (i > static_cast<lua_Integer>(st->fields.size())) return 0;
  const zproto::Field &f = st->fields[static_cast<size_t>(i - 1)];
  lua_pushinteger(L, i);
  lua_createtable(L, 0, 5);
  lua_pushlstring(L, f.name.data(), f.name.size());
  lua_setfield(L, -2, "name");
  lua_pushinteger(L, f.tag);
  lua_setfield(L, -2, "tag");
  lua_pushstring(L, zproto::type_name(f));
  lua_setfield(L, -2, "type");
  lua_pushboolean(L, f.array);
  lua_setfield(L, -2, "array");
  if (f.mapkey >= 0) {
    const std::string &key = f.sub->fields[static_cast<size_t>(f.mapkey)].name;
    lua_pushlstring(L, key.data(), key.size());
    lua_setfield(L, -2, "mapkey");
  }
  return 2;
}

// proto:travel([mode="field"] [, typ]) -> iterator, nil, 0
int l_travel(lua_State *L) {
  Handle *h = self_handle(L);
  const char *mode = luaL_optstring(L, 2, "field");
  bool structs = std::strcmp(mode, "struct") == 0;
  if (!structs && std::strcmp(mode, "field") != 0) return luaL_error(L, "travel: 'mod' can only be [struct|field]");
  const zproto::Struct *st = nullptr;
  if (!lua_isnoneornil(L, 3)) st = lookup(L, h, 3);
  if (!structs && st == nullptr) return luaL_error(L, "travel field: 'struct' is null");
  lua_getfield(L, 1, "proto");
  if (st != nullptr) {
    lua_pushlightuserdata(L, const_cast<zproto::Struct *>(st));
  } else {
    lua_pushnil(L);
  }
  lua_pushcclosure(L, structs ? travel_structs : travel_fields, 2);
  lua_pushnil(L);
  lua_pushinteger(L, 0);
  return 3;
}

}  // namespace

extern "C" int luaopen_zproto(lua_State *L) {
  if (luaL_newmetatable(L, kSchemaMeta)) {
    lua_pushcfunction(L, handle_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  // The module table M; proto objects get a metatable whose __index is M.
  lua_newtable(L);           // M
  lua_createtable(L, 0, 1);  // M MT
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, "__index");
  const luaL_Reg methods[] = {
      {"tag", l_tag},       {"encode", l_encode},   {"decode", l_decode}, {"pack", l_pack},
      {"unpack", l_unpack}, {"default", l_default}, {"travel", l_travel}, {nullptr, nullptr},
  };
  lua_pushvalue(L, -2);  // M MT M
  luaL_setfuncs(L, methods, 0);
  lua_pop(L, 1);  // M MT
  // parse and load hand MT to the protos they make.
  lua_pushvalue(L, -1);
  lua_pushcclosure(L, l_parse, 1);
  lua_setfield(L, -3, "parse");
  lua_pushvalue(L, -1);
  lua_pushcclosure(L, l_load, 1);
  lua_setfield(L, -3, "load");
  lua_pop(L, 1);  // M
  return 1;
}
