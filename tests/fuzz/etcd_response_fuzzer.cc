// Fuzz target: the etcd client's HTTP/1.1 response reader
// (lua_api/lualib/silly/store/etcd/response.lua), fed the input at once and
// in pieces (the first byte picks their size). Bad input must come back as
// nil and a reason, and both feedings must agree on the outcome.
//
// The reader is Lua, which libFuzzer's coverage does not see, so mutation
// gets no guidance from it: besides the raw input, each run also edits one
// of a few valid responses (a chunked watch stream among them) with the
// input's bytes as edit commands, so that most runs reach deep states.
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
    local function chunked(...)
      local out = {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"}
      for _, m in ipairs({...}) do out[#out + 1] = string.format("%x\r\n%s\r\n", #m, m) end
      out[#out + 1] = "0\r\n\r\n"
      return table.concat(out)
    end
    local VALID = {
      'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n{"header":{"revision":"2"}}',
      chunked('{"result":{"header":{"revision":"2"},"created":true}}\n',
              '{"result":{"events":[{"kv":{"key":"Zm9v","mod_revision":"3"}}]}}\n', "x;y"),
      "HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n{}",
      'HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nA: b\r\nA: c\r\n\r\n{}',
      "HTTP/1.1 204 No Content\r\n\r\n",
    }
    -- Edits base with s's bytes, three at a time: an operation, a position
    -- and a byte.
    local function edit(base, s)
      local t = {}
      for i = 1, #base do t[i] = base:sub(i, i) end
      for i = 1, #s - 2, 3 do
        local op, pos, v = s:byte(i) % 5, s:byte(i + 1) * 7 % (#t + 1) + 1, string.char(s:byte(i + 2))
        if op == 0 and t[pos] then t[pos] = v
        elseif op == 1 then table.insert(t, pos, v)
        elseif op == 2 and t[pos] then table.remove(t, pos)
        elseif op == 3 then for k = #t, pos, -1 do t[k] = nil end
        else table.insert(t, pos, ({"\r\n", "\r\n\r\n", "0\r\n", ";", "ffffffffffffff\r\n"})[s:byte(i + 2) % 5 + 1]) end
      end
      return table.concat(t)
    end
    local function check(s, step)
      local whole, pieces = read(s, #s + 1), read(s, step)
      if whole ~= pieces then
        error("whole and piecewise reads differ: " .. whole:sub(1, 40) .. " / " .. pieces:sub(1, 40))
      end
    end
    function fuzz(s)
      local step = (s:byte(1) or 0) % 64 + 1
      local base = VALID[(s:byte(2) or 0) % #VALID + 1]
      s = s:sub(2)
      check(s, step)
      check(edit(base, s:sub(2)), step)
    end
  )";
  return fuzz_state("unused", open_nothing, script.c_str());
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lua_State *L = setup();
  fuzz_call(L, "fuzz", data, size);
  return 0;
}
