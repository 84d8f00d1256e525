// Encoding Lua tables as zproto records and back.
#pragma once

#include <cstdint>
#include <lua.hpp>
#include <vector>

#include "codecs/zproto/schema.h"

namespace zproto {

// Appends the record for the table at `idx` to *out. Type errors are
// raised as Lua errors with the original library's messages.
void encode(lua_State *L, int idx, const Struct &st, std::vector<uint8_t> *out);

// Pushes the decoded table and returns the bytes the record took, or
// returns -1 with nothing pushed when the input is malformed. A map
// element without its key field raises "table index is nil".
long decode(lua_State *L, const uint8_t *data, size_t size, const Struct &st);

// Pushes a table with every field of `st` set to its default.
void push_default(lua_State *L, const Struct &st);

}  // namespace zproto
