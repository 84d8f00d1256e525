// Fuzz target: silly.encoding.json. Any text decodes to a value or to
// nil and a reason; whatever decodes encodes without a raise, and the
// encoded text decodes to the same value again (a fixed point after one
// round, since holes in arrays are dropped by the first encode).

#include "lua_fuzz.h"
#include "silly/lua_api/batteries.h"

static lua_State *setup() {
  return fuzz_state("json", silly::open_silly_json, R"(
    local function same(a, b)
      if type(a) ~= "table" or type(b) ~= "table" then
        return a == b and math.type(a) == math.type(b)
      end
      for k, v in pairs(a) do
        if not same(v, b[k]) then return false end
      end
      for k in pairs(b) do
        if a[k] == nil then return false end
      end
      return true
    end
    function fuzz(s)
      local v, nxt = json.decode(s)
      if v == nil then -- bad text, or a top-level null
        assert(type(nxt) == "string" and nxt:find("^json%.decode: ") or math.type(nxt) == "integer", nxt)
        return
      end
      assert(math.type(nxt) == "integer" and nxt >= 2 and nxt <= #s + 1)
      local v1, n1 = json.decode(json.encode(v))
      assert(math.type(n1) == "integer", n1)
      local e1 = json.encode(v1)
      local v2, n2 = json.decode(e1)
      assert(math.type(n2) == "integer", n2)
      assert(same(v1, v2), "not a fixed point: " .. e1)
    end
  )");
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lua_State *L = setup();
  fuzz_call(L, "fuzz", data, size);
  return 0;
}
