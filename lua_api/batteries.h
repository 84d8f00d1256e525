// The batteries: libraries a game server needs beside its own protocol,
// each a module of the original framework's name, built on a well-kept
// library (docs/batteries.md says which and why). The runtime preloads them;
// each opener is also what a fuzz target or a test links alone.
#pragma once

#include <lua.hpp>

namespace silly {

int open_silly_json(lua_State *L);  // silly.encoding.json (RapidJSON)

}  // namespace silly
