// Lua tables to protobuf wire bytes and back, guided by a MessagePlan.
#pragma once

#include <cstdint>
#include <lua.hpp>
#include <vector>

#include "codecs/protobuf/schema.h"

namespace pb {

// Appends the encoding of the table at idx. Raises a Lua error naming the
// field on a value of the wrong type.
void encode(lua_State *L, int idx, const MessagePlan &plan, Registry &reg, std::vector<uint8_t> *out);

// Pushes the decoded table; false (nothing pushed, the reason in err) on
// malformed input.
bool decode(lua_State *L, const uint8_t *data, size_t size, const MessagePlan &plan, Registry &reg, char *err,
            size_t errlen);

}  // namespace pb
