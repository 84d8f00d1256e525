-- A gate under load: echoes 16-byte messages on every client connection
-- (like bench/echo/echo_server.lua) and, once --links of them are
-- connected and a warm-up has passed, makes sequential 16-byte cluster
-- calls to the node at --callee for --seconds. Prints one line
-- "p50_us=.. p99_us=.. calls=.. load_msgs_per_s=.." and keeps echoing
-- until killed.
-- silly gate.lua --port=ECHO_PORT --callee=CLUSTER_PORT --links=N --seconds=S
local silly = require "silly"
local time = require "silly.time"
local env = require "silly.env"
local tcp = require "silly.net.tcp"
local cluster = require "silly.net.cluster"

local links = tonumber(env.get("links") or 8000)
local seconds = tonumber(env.get("seconds") or 5)
-- A runtime without a µs clock (the original framework, as a baseline)
-- gets bench/cluster/usclock.c.
local now = time.monotonic_us or require("usclock").now

local accepted, echoed = 0, 0
local read, write = tcp.read, tcp.write
assert(tcp.listen("127.0.0.1:" .. env.get("port"), function(fd)
	accepted = accepted + 1
	while true do
		local m = read(fd, 16)
		if not m then
			break
		end
		write(fd, m)
		echoed = echoed + 1
	end
	tcp.close(fd)
end, 1024))

local node = cluster.new {
	timeout = 60000,
	marshal = function(_, cmd, body) return cmd, body end,
	unmarshal = function(_, _, p, n) return silly.tostring(p, n) end,
	call = function() end,
	close = function() end,
}
local fd = assert(node.connect("127.0.0.1:" .. env.get("callee")))
local msg = "0123456789abcdef"

silly.fork(function()
	while accepted < links do
		time.sleep(100)
	end
	time.sleep(1500) -- every link busy, past the client's own warm-up
	local lat = {}
	local t0, e0 = now(), echoed
	local deadline = t0 + seconds * 1e6
	while now() < deadline do
		local c0 = now()
		assert(node.call(fd, 1, msg) == msg)
		lat[#lat + 1] = now() - c0
	end
	-- The echo load while the calls ran: a runtime that starts the calls
	-- late would measure them on an idle node.
	local load = (echoed - e0) / ((now() - t0) / 1e6)
	table.sort(lat)
	local n = #lat
	print(string.format("p50_us=%d p99_us=%d calls=%d load_msgs_per_s=%.0f", lat[n // 2 + 1], lat[n * 99 // 100 + 1],
		n, load))
	io.stdout:flush()
end)
