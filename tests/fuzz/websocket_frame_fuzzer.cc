// Fuzz target: silly.websocket.c, the WebSocket frame reader under
// silly.net.websocket. Any bytes, fed in pieces the first byte chooses,
// give whole frames or a reason, never a crash; frames a client framer
// writes from the same bytes read back unchanged on the server side.

#include "lua_fuzz.h"
#include "silly/lua_api/batteries.h"

static lua_State *setup() {
  return fuzz_state("wsc", silly::open_silly_websocket, R"(
    function fuzz(s)
      if #s < 1 then return end
      local step = s:byte(1) + 1
      local data = s:sub(2)
      for _, role in ipairs({"server", "client"}) do
        local f = wsc.framer(role, 1 << 16)
        local i = 1
        while i <= #data do
          f:feed(data:sub(i, i + step - 1))
          i = i + step
          while true do
            local fin, op, payload = f:next()
            if fin == nil then
              assert(op == nil or type(op) == "string")
              if op then i = #data + 1 end
              break
            end
            assert(type(fin) == "boolean" and op >= 0 and op <= 10 and #payload <= 1 << 16)
          end
        end
      end
      -- Written by a client, read by a server: the same frame.
      local client, server = wsc.framer("client", 1 << 20), wsc.framer("server", 1 << 20)
      local op = s:byte(1) % 3
      server:feed(client:frame(s:byte(1) % 2 == 0, op, data))
      local fin, rop, payload = server:next()
      assert(fin == (s:byte(1) % 2 == 0) and rop == op and payload == data, "frame round trip")
    end
  )");
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lua_State *L = setup();
  fuzz_call(L, "fuzz", data, size);
  return 0;
}
