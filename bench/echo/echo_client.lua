-- Echo benchmark client: N connections, one 16-byte message in flight on
-- each; prints round trips per second, then the p50 and p99 of one round
-- trip in µs. Connections are made one after another before any traffic
-- (a listener's backlog would drop a burst of thousands).
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
local measuring = false
local samples, nsamples = {}, 0
local read, write, now = tcp.read, tcp.write, time.monotonic_us

local fds = {}
for i = 1, conns do
	fds[i] = assert(tcp.connect(addr))
	if i % 500 == 0 then
		time.sleep(1)
	end
end
for i = 1, conns do
	local fd = fds[i]
	silly.fork(function()
		while running do
			local t0 = now()
			write(fd, msg)
			if not read(fd, 16) then
				break
			end
			count = count + 1
			if measuring and nsamples < 2000000 then
				nsamples = nsamples + 1
				samples[nsamples] = now() - t0
			end
		end
		tcp.close(fd)
	end)
end
time.sleep(500) -- every connection has echoed
measuring = true
local c0, t0 = count, now()
time.sleep(seconds * 1000)
local rate = (count - c0) / ((now() - t0) / 1e6)
measuring = false
running = false
table.sort(samples)
local function pct(p)
	return samples[math.max(1, math.floor(nsamples * p))] or 0
end
print(string.format("%.0f %d %d", rate, pct(0.5), pct(0.99)))
silly.exit(0)
