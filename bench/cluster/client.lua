-- Cluster benchmark client, 16-byte payloads over one link.
--   --mode=latency  one caller, sequential calls: p50/p99 in µs
--   --mode=calls    --callers=100 concurrent callers for --seconds: calls/s
--   --mode=sends    one-way sends for --seconds: sends/s received
--   --mode=bulk     sequential --bytes calls for --seconds: MB/s both ways
--   --mode=mixed    latency mode while another task makes --bytes calls
--   --mode=trickle  --rate calls a second for --seconds: CPU seconds used
-- --heartbeat=MS, --maxpayload=BYTES and --secret=S set those options,
-- --certs=DIR turns TLS on (DIR/ca.pem, name localhost); --dump=FILE
-- (latency) writes every call's µs, sorted.
-- Prints one line "key=value ...".
local silly = require "silly"
local time = require "silly.time"
local env = require "silly.env"
local cluster = require "silly.net.cluster"
local tostring = silly.tostring

local mode = env.get("mode") or "calls"
local seconds = tonumber(env.get("seconds") or 5)
local callers = tonumber(env.get("callers") or 100)
local node = cluster.new {
	timeout = 10000,
	marshal = function(_, cmd, body) return cmd, body end,
	unmarshal = function(_, _, p, n) return tostring(p, n) end,
	call = function() end,
	close = function() end,
	heartbeat = tonumber(env.get("heartbeat")),
	maxpayload = tonumber(env.get("maxpayload")),
	secret = env.get("secret"),
	tls = env.get("certs") and {ca = env.get("certs") .. "/ca.pem", servername = "localhost"},
}
local fd = assert(node.connect("127.0.0.1:" .. env.get("port")))
local call, send = node.call, node.send
local msg = "0123456789abcdef"
-- A runtime without a µs clock (the original framework, as a baseline)
-- gets bench/cluster/usclock.c.
local now = time.monotonic_us or require("usclock").now

local function cpu_seconds()
	local f = io.open("/proc/self/stat")
	local stat = f:read("a")
	f:close()
	local fields = {}
	for x in stat:match("%) (.*)"):gmatch("%S+") do
		fields[#fields + 1] = x
	end
	return (tonumber(fields[12]) + tonumber(fields[13])) / 100
end

local bulk = string.rep("B", tonumber(env.get("bytes") or (1 << 20)))

if mode == "latency" or mode == "mixed" then
	local busy = mode == "mixed"
	if busy then
		silly.fork(function()
			while busy do
				assert(call(fd, 1, bulk) == bulk)
			end
		end)
	end
	for _ = 1, 2000 do -- warm up
		call(fd, 1, msg)
	end
	local n = tonumber(env.get("calls") or 100000)
	local lat = {}
	for i = 1, n do
		local t0 = now()
		call(fd, 1, msg)
		lat[i] = now() - t0
	end
	busy = false
	table.sort(lat)
	local dump = env.get("dump")
	if dump then
		local f = assert(io.open(dump, "w"))
		f:write(table.concat(lat, "\n"), "\n")
		f:close()
	end
	print(string.format("p50_us=%d p99_us=%d calls=%d", lat[n // 2], lat[n * 99 // 100], n))
elseif mode == "trickle" then
	local rate = tonumber(env.get("rate") or 100)
	local cpu0 = cpu_seconds()
	for _ = 1, rate * seconds do
		call(fd, 1, msg)
		time.sleep(1000 // rate)
	end
	print(string.format("client_cpu_s=%.3f calls=%d", cpu_seconds() - cpu0, rate * seconds))
elseif mode == "bulk" then
	local t0, calls = now(), 0
	local deadline = t0 + seconds * 1e6
	while now() < deadline do
		assert(call(fd, 1, bulk) == bulk)
		calls = calls + 1
	end
	local secs = (now() - t0) / 1e6
	print(string.format("mb_per_s=%.1f calls=%d", 2 * #bulk * calls / secs / 1e6, calls))
elseif mode == "calls" then
	local count, running = 0, true
	for _ = 1, callers do
		silly.fork(function()
			while running do
				call(fd, 1, msg)
				count = count + 1
			end
		end)
	end
	time.sleep(500)
	local c0, t0, cpu0 = count, now(), cpu_seconds()
	time.sleep(seconds * 1000)
	local rate = (count - c0) / ((now() - t0) / 1e6)
	local cpu = (cpu_seconds() - cpu0) / seconds
	running = false
	print(string.format("calls_per_s=%.0f client_cpu=%.2f", rate, cpu))
elseif mode == "sends" then
	local base = tonumber(call(fd, 3, msg))
	local t0 = now()
	local deadline = t0 + seconds * 1e6
	local sent = 0
	local sendsize = require "silly.net.c".sendsize
	while now() < deadline do
		for _ = 1, 1000 do
			if send(fd, 2, msg) then
				sent = sent + 1
			end
		end
		-- Back off while the peer is behind, so the queue stays short.
		repeat
			time.sleep(0)
		until sendsize(fd) < 1048576
	end
	local got = tonumber(call(fd, 3, msg)) - base -- ordered behind the sends
	local secs = (now() - t0) / 1e6
	print(string.format("sends_per_s=%.0f sent=%d received=%d", got / secs, sent, got))
end
silly.exit(0)
