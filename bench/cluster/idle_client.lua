-- Memory benchmark client for cluster links: opens --conns links to the
-- node at --port (bench/cluster/server.lua), makes one call on each,
-- prints "ready" and holds them idle until the file --release exists, then
-- closes them all. The counterpart of bench/echo/idle_client.lua.
local silly = require "silly"
local time = require "silly.time"
local env = require "silly.env"
local cluster = require "silly.net.cluster"

local conns = tonumber(env.get("conns") or 1000)
local addr = "127.0.0.1:" .. env.get("port")
local release = env.get("release")
local node = cluster.new {
	timeout = 30000,
	marshal = function(_, cmd, body) return cmd, body end,
	unmarshal = function(_, _, p, n) return silly.tostring(p, n) end,
	call = function() end,
	close = function() end,
}
local fds, done, failed = {}, 0, 0
local msg = "0123456789abcdef"
for i = 1, conns do
	local fd = node.connect(addr)
	if fd then
		fds[#fds + 1] = fd
		silly.fork(function()
			if node.call(fd, 1, msg) == msg then
				done = done + 1
			else
				failed = failed + 1
			end
		end)
	else
		failed = failed + 1
	end
	if i % 500 == 0 then
		time.sleep(1)
	end
end
while done + failed < conns do
	time.sleep(10)
end
print(string.format("ready called=%d failed=%d", done, failed))
io.stdout:flush()
while not io.open(release) do
	time.sleep(50)
end
for _, fd in ipairs(fds) do
	node.close(fd)
end
print("closed")
io.stdout:flush()
silly.exit(0)
