// What every codec plugin shares: how bytes come in from Lua, how encoded
// bytes go back (a string, or a raw (lightuserdata, size) the cluster sends
// without another copy), and a guard for walking nested Lua tables.
//
// A raw result points into the codec's output buffer and stays valid until
// that codec's next encode. With it a cluster marshal callback is two lines:
//   marshal = function(_, cmd, body) return cmd, codec.encode(body, true) end
#pragma once

#include <cstddef>
#include <cstdint>
#include <lua.hpp>
#include <vector>

namespace codec {

// Reads the input at idx: a string (whole), or a lightuserdata followed by
// an integer size. Raises a Lua error naming `fname` otherwise.
void check_input(lua_State *L, int idx, const char *fname, const uint8_t **data, size_t *size);

// Pushes the bytes as a string, or as lightuserdata + size when raw;
// returns how many values it pushed.
int push_output(lua_State *L, const void *data, size_t size, bool raw);

// Tracks the tables on the path being encoded: too deep a path or a table
// inside itself raises a Lua error naming `fname`. It owns no heap memory,
// because a Lua error unwinds with longjmp and runs no destructors.
class TableGuard {
 public:
  static constexpr int kMaxDepth = 64;
  TableGuard(lua_State *L, const char *fname, int max_depth)
      : L_(L), fname_(fname), max_depth_(max_depth < kMaxDepth ? max_depth : kMaxDepth) {}
  void enter(int idx);
  void leave() { depth_--; }

 private:
  lua_State *L_;
  const char *fname_;
  int max_depth_;
  int depth_ = 0;
  const void *path_[kMaxDepth];
};

}  // namespace codec
