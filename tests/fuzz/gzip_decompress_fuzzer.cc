// Fuzz target: silly.compress.gzip. Any bytes decompress to data or to nil
// and a reason, within the output limit; whatever compresses decompresses
// to itself.

#include "lua_fuzz.h"
#include "silly/lua_api/batteries.h"

static lua_State *setup() {
  return fuzz_state("gzip", silly::open_silly_compress_gzip, R"(
    function fuzz(s)
      local d, why = gzip.decompress(s, 1 << 20)
      if d == nil then
        assert(type(why) == "string" and why:find("^gzip%.decompress: "), why)
      else
        assert(#d <= 1 << 20)
      end
      assert(gzip.decompress(gzip.compress(s)) == s)
    end
  )");
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lua_State *L = setup();
  fuzz_call(L, "fuzz", data, size);
  return 0;
}
