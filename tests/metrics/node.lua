-- A node for the metrics tests: a cluster server ("game") and a client
-- ("lobby") in one process. With --calls=N the client makes N calls and
-- prints "calls N"; with --forever it keeps calling until killed. Run
-- with --metrics=ADDR.
local silly = require "silly"
local env = require "silly.env"
local tcp = require "silly.net.tcp"
local cluster = require "silly.net.cluster"

local function codec(_, cmd, body)
	return cmd, body
end
local server = cluster.new {
	name = "game", marshal = codec, close = function() end,
	unmarshal = function(_, _, p, n) return silly.tostring(p, n) end,
	call = function(body) return body end,
}
local client = cluster.new {
	name = "lobby", marshal = codec, close = function() end, call = function() end,
	unmarshal = function(_, _, p, n) return silly.tostring(p, n) end,
}
local lfd = assert(server.listen("127.0.0.1:0"))
silly.fork(function()
	local fd = assert(client.connect(tcp.sockname(lfd)))
	local n = tonumber(env.get("calls") or 0)
	for i = 1, n do
		assert(client.call(fd, 1, "call " .. i))
	end
	print("calls " .. n)
	io.stdout:flush()
	while env.get("forever") do
		client.call(fd, 1, "more")
	end
end)
