-- Helper process: a cluster node that listens with a secret (--secret),
-- TLS (--certs=DIR, with --mtls=1 to require client certificates), or
-- both. Its handler echoes; cmd "count" answers how many calls it served
-- before. Prints "ready <addr>" once listening.
local silly = require "silly"
local env = require "silly.env"
local tcp = require "silly.net.tcp"
local cluster = require "silly.net.cluster"

local certs = env.get("certs")
local tls
if certs then
	tls = {cert = certs .. "/server.pem", key = certs .. "/server.key"}
	if env.get("mtls") then
		tls.ca = certs .. "/ca.pem"
	end
end
local served = 0
local node = cluster.new {
	marshal = function(_, cmd, body)
		return cmd == "count" and 2 or 1, tostring(body)
	end,
	unmarshal = function(_, _, p, n)
		return silly.tostring(p, n)
	end,
	call = function(body, cmd)
		if cmd == 2 then
			return served
		end
		served = served + 1
		return body
	end,
	close = function() end,
	secret = env.get("secret"),
	handshake = tonumber(env.get("handshake")),
	tls = tls,
}
local fd = assert(node.listen("127.0.0.1:0"))
print("ready " .. tcp.sockname(fd))
io.stdout:flush()
