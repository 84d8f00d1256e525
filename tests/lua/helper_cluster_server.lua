-- Helper process: a cluster node whose handler answers after `--delay` ms,
-- with `--heartbeat` ms liveness checks if given.
-- Prints "ready <addr>" once listening.
local silly = require "silly"
local time = require "silly.time"
local env = require "silly.env"
local tcp = require "silly.net.tcp"
local cluster = require "silly.net.cluster"

local delay = tonumber(env.get("delay") or 0)
local node = cluster.new {
	marshal = function(_, cmd, body) return cmd, body end,
	unmarshal = function(_, _, p, n) return silly.tostring(p, n) end,
	call = function(body)
		if delay > 0 then
			time.sleep(delay)
		end
		return body
	end,
	close = function() end,
	heartbeat = tonumber(env.get("heartbeat")),
}
local fd = assert(node.listen("127.0.0.1:" .. (env.get("port") or 0)))
print("ready " .. tcp.sockname(fd))
