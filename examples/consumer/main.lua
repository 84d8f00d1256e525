-- The consumer's script: a cluster call through the msgpack plugin, between
-- two instances in this process, with the host's own module in the answer.
local silly = require "silly"
local tcp = require "silly.net.tcp"
local cluster = require "silly.net.cluster"
local msgpack = require "msgpack"
local game = require "game"

local function node(call)
	return cluster.new {
		marshal = function(_, cmd, body) return cmd, msgpack.encode(body, true) end,
		unmarshal = function(_, _, p, n) return (msgpack.decode(p, n)) end,
		call = call, close = function() end,
	}
end
local server = node(function(req) return {player = req.player, level = game.level()} end)
local client = node(function() end)
local fd = assert(client.connect(tcp.sockname(assert(server.listen("127.0.0.1:0")))))
local r = assert(client.call(fd, 1, {player = "ayla"}))
print(string.format("consumer: %s is level %d", r.player, r.level))
silly.exit(r.level == 42 and 0 or 1)
