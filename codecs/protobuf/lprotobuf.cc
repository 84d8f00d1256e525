// require "protobuf": protocol buffers from .proto text loaded at run time
// (protobuf.so), on libprotobuf's descriptors; the wire bytes are written
// and read directly from and to Lua tables, with no message objects.
//
//   protobuf.load(text [, name])   -> true | nil, "line L:C: reason"
//   protobuf.loadfile(path)        -> true | nil, reason
//   protobuf.encode(message, table [, raw]) -> string | lightuserdata, size
//   protobuf.decode(message, str)  -> table | nil, reason
//   protobuf.decode(message, ptr, size)
#include <google/protobuf/stubs/logging.h>

#include <cstdio>
#include <fstream>
#include <lua.hpp>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "codecs/protobuf/codec.h"
#include "codecs/protobuf/schema.h"
#include "silly/codecs/common/codec.h"

namespace {

// One registry per process: message names are global, like the pool.
pb::Registry &registry() {
  static pb::Registry reg;
  return reg;
}

std::vector<uint8_t> g_out;
int g_loads = 0;

// Loads text under `name`; pushes true or nil, reason. The strings it
// builds are gone before anything can raise.
int load_text(lua_State *L, const std::string &text, const std::string &name) {
  std::string error;
  bool ok = registry().load(text, name, &error);
  if (ok) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushnil(L);
  lua_pushlstring(L, error.data(), error.size());
  return 2;
}

int l_load(lua_State *L) {
  size_t n;
  const char *text = luaL_checklstring(L, 1, &n);
  std::string name = luaL_optstring(L, 2, "");
  if (name.empty()) name = "loaded_" + std::to_string(++g_loads) + ".proto";
  return load_text(L, std::string(text, n), name);
}

int l_loadfile(lua_State *L) {
  std::string path = luaL_checkstring(L, 1);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    lua_pushnil(L);
    lua_pushfstring(L, "protobuf.loadfile: cannot open %s", path.c_str());
    return 2;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  size_t slash = path.rfind('/');
  return load_text(L, ss.str(), slash == std::string::npos ? path : path.substr(slash + 1));
}

const pb::MessagePlan &check_message(lua_State *L, const char *fname) {
  const char *name = luaL_checkstring(L, 1);
  const pb::MessagePlan *plan = registry().find(name);
  if (plan == nullptr) luaL_error(L, "%s: unknown message type '%s' (load its .proto first)", fname, name);
  return *plan;
}

int l_encode(lua_State *L) {
  const pb::MessagePlan &plan = check_message(L, "protobuf.encode");
  luaL_checktype(L, 2, LUA_TTABLE);
  bool raw = lua_toboolean(L, 3);
  g_out.clear();
  pb::encode(L, 2, plan, registry(), &g_out);
  return codec::push_output(L, g_out.data(), g_out.size(), raw);
}

int l_decode(lua_State *L) {
  const pb::MessagePlan &plan = check_message(L, "protobuf.decode");
  const uint8_t *data;
  size_t size;
  codec::check_input(L, 2, "protobuf.decode", &data, &size);
  char err[160];
  if (pb::decode(L, data, size, plan, registry(), err, sizeof(err))) return 1;
  lua_pushnil(L);
  lua_pushstring(L, err);
  return 2;
}

// libprotobuf logs its warnings (e.g. a file without a syntax line) to
// stderr; problems a script must see come back as error values instead.
void quiet(google::protobuf::LogLevel level, const char *file, int line, const std::string &message) {
  if (level >= google::protobuf::LOGLEVEL_ERROR)
    std::fprintf(stderr, "[libprotobuf %s:%d] %s\n", file, line, message.c_str());
}

}  // namespace

extern "C" int luaopen_protobuf(lua_State *L) {
  google::protobuf::SetLogHandler(quiet);
  const luaL_Reg fns[] = {
      {"load", l_load}, {"loadfile", l_loadfile}, {"encode", l_encode}, {"decode", l_decode}, {nullptr, nullptr},
  };
  luaL_newlib(L, fns);
  return 1;
}
