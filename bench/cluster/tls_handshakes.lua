-- TLS handshakes with silly.net.tls, one after another.
--   --mode=server --port=N --certs=DIR   a server that closes each stream
--                                        when its peer does
--   --mode=client --port=N --certs=DIR --seconds=S
--                                        full handshakes (connect, close)
--                                        for S seconds; prints
--                                        "handshakes_per_s=N"
local silly = require "silly"
local env = require "silly.env"
local time = require "silly.time"
local tls = require "silly.net.tls"

local certs = env.get("certs")
local addr = "127.0.0.1:" .. env.get("port")
if env.get("mode") == "server" then
	local ctx = tls.context({cert = certs .. "/server.pem", key = certs .. "/server.key"}, "server")
	assert(tls.listen(addr, function(fd)
		tls.readall(fd) -- nothing comes; returns at once
		tls.read(fd, 1) -- until the peer closes
		tls.close(fd)
	end, ctx))
	return
end
local ctx = tls.context({ca = certs .. "/ca.pem", servername = "localhost"})
local seconds = tonumber(env.get("seconds") or 5)
silly.fork(function()
	local n = 0
	local t0 = time.monotonic()
	local stop = t0 + seconds * 1000
	while time.monotonic() < stop do
		local fd = assert(tls.connect(addr, ctx))
		tls.close(fd)
		n = n + 1
	end
	print(string.format("handshakes_per_s=%d", n * 1000 // (time.monotonic() - t0)))
	silly.exit(0)
end)
