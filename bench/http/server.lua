-- An HTTP server for bench/http/run.sh, written against the API that
-- silly.net.http shares with the original framework, so that both
-- runtimes serve the same script: "/" answers 13 bytes, "/json" a small
-- JSON document encoded per request.
local http = require "silly.net.http"
local json = require "silly.encoding.json"
local env = require "silly.env"

local hello = "hello, world\n"
local doc = {id = 10086, name = "Aurelia", hp = 950, pos = {x = 12.5, y = -3.25}, bag = {1001, 1002, 1003}}

assert(http.listen {
	addr = env.get("addr") or "127.0.0.1:8090",
	handler = function(stream)
		local body = stream.path == "/json" and json.encode(doc) or hello
		stream:respond(200, {["content-type"] = "text/plain", ["content-length"] = #body})
		stream:close(body)
	end,
})
