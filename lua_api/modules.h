// The C modules built into every runtime, and the searcher that serves the
// runtime's own Lua modules from the binary, so that it finds them from any
// working directory.
#pragma once

#include <lua.hpp>

namespace silly {

int open_silly_core(lua_State *L);    // silly.c
int open_silly_net(lua_State *L);     // silly.net.c
int open_silly_logger(lua_State *L);  // silly.logger.c

// Adds the built-in modules to package.preload and the embedded-Lua
// searcher right after it.
void install_builtin_modules(lua_State *L);

}  // namespace silly
