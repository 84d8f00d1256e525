-- Echo benchmark client: N connections, one 16-byte message in flight on
-- each; prints round trips per second.
-- silly echo_client.lua --port=N --conns=100 --seconds=5
local silly = require "silly"
local time = require "silly.time"
local tcp = require "silly.net.tcp"
local env = require "silly.env"

local addr = "127.0.0.1:" .. env.get("port")
local conns = tonumber(env.get("conns") or 100)
local seconds = tonumber(env.get("seconds") or 5)
local msg = string.rep("x", 16)
local count = 0
local running = true
local read, write = tcp.read, tcp.write

for _ = 1, conns do
	silly.fork(function()
		local fd = assert(tcp.connect(addr))
		while running do
			write(fd, msg)
			if not read(fd, 16) then
				break
			end
			count = count + 1
		end
		tcp.close(fd)
	end)
end
time.sleep(200) -- connections settle
local c0, t0 = count, time.monotonic_us()
time.sleep(seconds * 1000)
local rate = (count - c0) / ((time.monotonic_us() - t0) / 1e6)
running = false
print(string.format("%.0f", rate))
silly.exit(0)
