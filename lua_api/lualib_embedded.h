// The runtime's Lua modules, compiled into the binary by //tools:embed_lua.
#pragma once

#include <cstddef>

namespace silly {

struct EmbeddedLua {
  const char *name;  // module name, e.g. "silly.net.tcp"
  const char *path;  // e.g. "silly/net/tcp.lua"
  const char *source;
  size_t size;
};

const EmbeddedLua *find_embedded_lua(const char *name);

}  // namespace silly
