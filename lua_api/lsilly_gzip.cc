// silly.compress.gzip: gzip (RFC 1952) on zlib.
//
// compress(s[, level]) -> gzip bytes (level 0-9, zlib's default 6).
// decompress(s[, max]) -> the data, or nil and "gzip.decompress: <reason>":
//   a corrupt or truncated stream, trailing bytes, or more than `max`
//   bytes of output (64 MiB by default: a small bomb cannot take the
//   process's memory). Concatenated members decompress as one, as gunzip
//   does.
#include <zlib.h>

#include <cstring>
#include <lua.hpp>

#include "silly/lua_api/batteries.h"

namespace silly {

namespace {

constexpr int kGzipWindow = 15 + 16;  // zlib's window bits for a gzip wrapper
constexpr lua_Integer kDefaultMaxOutput = 64 << 20;
constexpr size_t kChunk = 64 << 10;

// zlib's stream, ended on every path out (a Lua raise included: the
// buffers are Lua's, the stream's own state is freed here).
struct Deflater {
  z_stream zs{};
  bool ready = false;
  ~Deflater() {
    if (ready) deflateEnd(&zs);
  }
};

struct Inflater {
  z_stream zs{};
  bool ready = false;
  ~Inflater() {
    if (ready) inflateEnd(&zs);
  }
};

int l_compress(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_Integer level = luaL_optinteger(L, 2, Z_DEFAULT_COMPRESSION);
  luaL_argcheck(L, level == Z_DEFAULT_COMPRESSION || (level >= 0 && level <= 9), 2,
                "gzip.compress: level must be 0..9");
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  int r;
  {
    Deflater d;
    if (deflateInit2(&d.zs, static_cast<int>(level), Z_DEFLATED, kGzipWindow, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      return luaL_error(L, "gzip.compress: out of memory");
    }
    d.ready = true;
    d.zs.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(s));
    d.zs.avail_in = static_cast<uInt>(len);  // inputs over 4 GiB are not Lua strings one sends
    do {
      char *out = luaL_prepbuffsize(&b, kChunk);
      d.zs.next_out = reinterpret_cast<Bytef *>(out);
      d.zs.avail_out = static_cast<uInt>(kChunk);
      r = deflate(&d.zs, Z_FINISH);
      luaL_addsize(&b, kChunk - d.zs.avail_out);
    } while (r == Z_OK || r == Z_BUF_ERROR);
  }
  if (r != Z_STREAM_END) return luaL_error(L, "gzip.compress: zlib error %d", r);
  luaL_pushresult(&b);
  return 1;
}

int fail(lua_State *L, const char *why) {
  lua_pushnil(L);
  lua_pushfstring(L, "gzip.decompress: %s", why);
  return 2;
}

int l_decompress(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_Integer max = luaL_optinteger(L, 2, kDefaultMaxOutput);
  luaL_argcheck(L, max >= 0, 2, "gzip.decompress: max must not be negative");
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  const char *why = nullptr;
  size_t total = 0;
  {
    Inflater f;
    if (inflateInit2(&f.zs, kGzipWindow) != Z_OK) return luaL_error(L, "gzip.decompress: out of memory");
    f.ready = true;
    f.zs.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(s));
    f.zs.avail_in = static_cast<uInt>(len);
    if (len == 0) why = "empty input";
    while (why == nullptr) {
      char *out = luaL_prepbuffsize(&b, kChunk);
      f.zs.next_out = reinterpret_cast<Bytef *>(out);
      f.zs.avail_out = static_cast<uInt>(kChunk);
      int r = inflate(&f.zs, Z_NO_FLUSH);
      size_t got = kChunk - f.zs.avail_out;
      luaL_addsize(&b, got);
      total += got;
      if (total > static_cast<size_t>(max)) {
        why = "output over the limit";
      } else if (r == Z_STREAM_END) {
        if (f.zs.avail_in == 0) break;
        // Another member must follow, or it is trailing garbage.
        if (f.zs.avail_in < 2 || f.zs.next_in[0] != 0x1f || f.zs.next_in[1] != 0x8b) {
          why = "trailing bytes after the gzip stream";
        } else {
          inflateReset(&f.zs);
        }
      } else if (r == Z_BUF_ERROR && f.zs.avail_in == 0 && got == 0) {
        why = "truncated data";
      } else if (r != Z_OK && r != Z_BUF_ERROR) {
        why = f.zs.msg != nullptr ? f.zs.msg : "corrupt data";
      }
    }
  }
  if (why != nullptr) {
    // The partial output is dropped with the buffer.
    luaL_pushresult(&b);
    lua_pop(L, 1);
    return fail(L, why);
  }
  luaL_pushresult(&b);
  return 1;
}

}  // namespace

int open_silly_compress_gzip(lua_State *L) {
  const luaL_Reg fns[] = {{"compress", l_compress}, {"decompress", l_decompress}, {nullptr, nullptr}};
  luaL_newlib(L, fns);
  lua_pushinteger(L, kDefaultMaxOutput);
  lua_setfield(L, -2, "MAX_OUTPUT");
  return 1;
}

}  // namespace silly
