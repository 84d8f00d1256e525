-- Cluster benchmark server: 16-byte payloads with a string codec.
-- cmd 1 echoes; cmd 2 is one-way (counted, no response); cmd 3 returns
-- how many one-way sends arrived.
-- silly server.lua --port=N [--heartbeat=MS] [--maxpayload=BYTES]
--   [--secret=S] [--certs=DIR (TLS with DIR/server.pem and server.key)]
local silly = require "silly"
local env = require "silly.env"
local cluster = require "silly.net.cluster"
local tostring = silly.tostring

collectgarbage(require "silly.env".get("gc") or "incremental")
local oneway = 0
local node = cluster.new {
	marshal = function(_, cmd, body) return cmd, body end,
	unmarshal = function(_, _, p, n) return tostring(p, n) end,
	call = function(body, cmd)
		if cmd == 1 then
			return body
		elseif cmd == 2 then
			oneway = oneway + 1
			return nil
		elseif cmd == 3 then
			return string.format("%16d", oneway)
		end
	end,
	close = function() end,
	heartbeat = tonumber(env.get("heartbeat")),
	maxpayload = tonumber(env.get("maxpayload")),
	secret = env.get("secret"),
	tls = env.get("certs") and {cert = env.get("certs") .. "/server.pem", key = env.get("certs") .. "/server.key"},
}
assert(node.listen("127.0.0.1:" .. env.get("port")))
