// Fuzz target: silly.redis.c, the RESP reader under silly.store.redis. Any
// bytes, fed in pieces the first byte chooses, give replies or a reason,
// never a crash; the replies do not depend on how the bytes were cut.

#include "lua_fuzz.h"
#include "silly/lua_api/batteries.h"

static lua_State *setup() {
  return fuzz_state("redisc", silly::open_silly_redis, R"(
    local function flat(v, out)
      if type(v) == "table" then
        out[#out + 1] = "["
        for i = 1, #v do flat(v[i], out) end
        out[#out + 1] = "]"
      else
        out[#out + 1] = tostring(v)
      end
    end
    local function run(data, step)
      local r = redisc.reader()
      local out = {}
      for i = 1, #data, step do
        r:feed(data:sub(i, i + step - 1))
        while true do
          local has, ok, v = r:next()
          if has == nil then out[#out + 1] = "error" return table.concat(out, " ") end
          if not has then break end
          out[#out + 1] = tostring(ok)
          flat(v, out)
        end
      end
      return table.concat(out, " ")
    end
    function fuzz(s)
      if #s < 1 then return end
      local data = s:sub(2)
      local whole = run(data, #data + 1)
      local cut = run(data, s:byte(1) % 16 + 1)
      assert(whole == cut, "the cut changed the replies")
    end
  )");
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lua_State *L = setup();
  fuzz_call(L, "fuzz", data, size);
  return 0;
}
