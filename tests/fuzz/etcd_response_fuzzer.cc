// Fuzz target: the etcd client's HTTP/1.1 response reader
// (lua_api/lualib/silly/store/etcd/response.lua), fed the input at once and
// in pieces (the first byte picks their size). Bad input must come back as
// nil and a reason, and both feedings must agree on the outcome.
#include <fstream>
#include <sstream>
#include <string>

#include "lua_fuzz.h"

static int open_nothing(lua_State *L) {
  lua_newtable(L);
  return 1;
}

static lua_State *setup() {
  std::ifstream in("lua_api/lualib/silly/store/etcd/response.lua");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string script = "READER = [==[" + ss.str() + "]==]\n" + R"(
    local response = assert(load(READER, "=response.lua"))()
    local function read(s, step)
      local body = {}
      local r = response.new(function(piece, status)
        assert(type(status) == "number")
        body[#body + 1] = piece
        return true
      end)
      for i = 1, #s, step do
        local ok, err = r:feed(s:sub(i, i + step - 1))
        if not ok then
          assert(type(err) == "string")
          return "error"
        end
      end
      local ok, err = r:finish()
      if not ok then
        assert(type(err) == "string")
        return "cut"
      end
      local cl = r.headers and r.headers["content-length"]
      local text = table.concat(body)
      if cl and not r.headers["transfer-encoding"] then assert(#text == tonumber(cl)) end
      return tostring(r.status) .. "\0" .. text
    end
    function fuzz(s)
      local step = (s:byte(1) or 0) % 64 + 1
      s = s:sub(2)
      local whole, pieces = read(s, #s + 1), read(s, step)
      if whole ~= pieces then
        error("whole and piecewise reads differ: " .. whole:sub(1, 40) .. " / " .. pieces:sub(1, 40))
      end
    end
  )";
  return fuzz_state("unused", open_nothing, script.c_str());
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lua_State *L = setup();
  fuzz_call(L, "fuzz", data, size);
  return 0;
}
