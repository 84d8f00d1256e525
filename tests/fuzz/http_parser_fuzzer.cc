// Fuzz target: silly.http.c, the HTTP/1.x message parser under
// silly.net.http. The first byte picks request or response and where the
// input is cut into feeds; any bytes give a message or a reason, never a
// crash, and the same bytes fed in one piece or in many give the same
// head and body.

#include "lua_fuzz.h"
#include "silly/lua_api/batteries.h"

static lua_State *setup() {
  return fuzz_state("httpc", silly::open_silly_http, R"(
    local function run(kind, s, step)
      local p = httpc.parser(kind, 4096, 65536)
      local body, err = {}, nil
      local i = 1
      while i <= #s do
        local ok, e = p:feed(s:sub(i, i + step - 1))
        body[#body + 1] = p:body()
        if not ok then err = e break end
        if p:done() then break end
        i = i + step
      end
      if not err and p:head() and not p:done() and p:needeof() then
        local ok = p:eof()
        body[#body + 1] = p:body()
        if not ok then err = "eof" end
      end
      local a, b, v, fields = p:head()
      return err and "error" or table.concat(body), a, b, v, fields and #fields
    end
    function fuzz(s)
      if #s < 1 then return end
      local ctl = s:byte(1)
      local kind = ctl % 2 == 0 and "request" or "response"
      local data = s:sub(2)
      local whole = {run(kind, data, #data + 1)}
      local cut = {run(kind, data, ctl // 2 + 1)}
      -- A head parsed whole is the head parsed in pieces (a body may
      -- differ only when the whole parse failed later).
      if whole[1] ~= "error" and cut[1] ~= "error" then
        assert(whole[1] == cut[1], "body differs with the cut")
        for k = 2, 4 do assert(whole[k] == cut[k], "head differs with the cut") end
      end
    end
  )");
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lua_State *L = setup();
  fuzz_call(L, "fuzz", data, size);
  return 0;
}
