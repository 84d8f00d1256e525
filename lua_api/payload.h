// Payload arguments shared by the framing bindings (silly.cluster.c and
// silly.netpacket): a Lua string, or a lightuserdata followed by its size.
#pragma once

#include <cstddef>
#include <lua.hpp>

namespace silly {

// False when the value at idx is neither; the pointer is the caller's and
// is not freed.
bool read_payload(lua_State *L, int idx, const void **data, size_t *size);

// Pushes nil, "payload too large: N bytes (at most LIMIT)"; returns 2.
int push_too_large(lua_State *L, size_t size, size_t limit);

}  // namespace silly
