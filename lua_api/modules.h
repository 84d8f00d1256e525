// The C modules built into every runtime, and the searcher that serves the
// runtime's own Lua modules from the binary, so that it finds them from any
// working directory.
#pragma once

#include <cstdint>
#include <lua.hpp>

namespace silly {

int open_silly_core(lua_State *L);       // silly.c
int open_silly_net(lua_State *L);        // silly.net.c
int open_silly_logger(lua_State *L);     // silly.logger.c
int open_silly_cluster(lua_State *L);    // silly.cluster.c
int open_silly_netpacket(lua_State *L);  // silly.netpacket

// The process-wide session counter that cluster calls and netpacket share.
uint32_t cluster_next_session(lua_State *L);

// Adds the built-in modules to package.preload and the embedded-Lua
// searcher right after it.
void install_builtin_modules(lua_State *L);

}  // namespace silly
