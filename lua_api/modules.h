// The C modules built into every runtime, and the searcher that serves the
// runtime's own Lua modules from the binary, so that it finds them from any
// working directory.
#pragma once

#include <cstdint>
#include <lua.hpp>

#include "silly/core/address.h"
#include "silly/core/socket.h"

namespace silly {

int open_silly_core(lua_State *L);       // silly.c
int open_silly_net(lua_State *L);        // silly.net.c
int open_silly_logger(lua_State *L);     // silly.logger.c
int open_silly_cluster(lua_State *L);    // silly.cluster.c
int open_silly_netpacket(lua_State *L);  // silly.netpacket
int open_silly_tls(lua_State *L);        // silly.tls.c
int open_silly_metrics(lua_State *L);    // silly.metrics.c
int open_silly_base64(lua_State *L);     // silly.encoding.base64
int open_silly_hive(lua_State *L);       // silly.hive.c
int open_silly_mysql(lua_State *L);      // silly.mysql.c
int open_silly_budget(lua_State *L);     // silly.budget.c

// Reads the address at idx ("ip:port", "[ipv6]:port"); false with
// nil, "invalid address:..." pushed when it is not one.
bool check_address(lua_State *L, int idx, bool empty_host_is_any, SockAddr *out);

// A binding's Lua callback (ondone(fn)): keeps the function argument 1 in
// the registry under *ref, releasing the one it replaces; raises unless it
// is a function.
void hold_callback(lua_State *L, int *ref);

// Raises unless the value at idx is nil or a TLS context (silly.tls.c).
void check_tls_context(lua_State *L, int idx);
// The TLS context at idx, or nullptr; never raises. Lua errors unwind past
// C++ destructors, so a binding checks every argument (check_tls_context
// included) before it holds the result.
FilterFactoryPtr opt_tls_context(lua_State *L, int idx);

// Pushes a new socket's id, or nil and the error's text; returns how many.
int push_id(lua_State *L, int64_t id);

// A new trace id (what silly.tracenew returns to a task without one).
uint64_t new_trace_id();

// The process-wide session counter that cluster calls and netpacket share.
uint32_t cluster_next_session(lua_State *L);

// Adds the built-in modules to package.preload and the embedded-Lua
// searcher right after it.
void install_builtin_modules(lua_State *L);

}  // namespace silly
