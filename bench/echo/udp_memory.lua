-- Memory of idle UDP sockets, in one process: --socks=N sockets connected
-- to one echo socket each send a datagram and get it back; then, with and
-- without a task blocked in recvfrom on each, the allocator's bytes and
-- the RSS per socket; then RSS 15 s after they all closed.
--   silly bench/echo/udp_memory.lua --socks=8000
local silly = require "silly"
local time = require "silly.time"
local env = require "silly.env"
local udp = require "silly.net.udp"
local c = require "silly.c"

local n = tonumber(env.get("socks") or 8000)

local function rss_kb()
	local f = io.open("/proc/self/status")
	local s = f:read("a")
	f:close()
	return tonumber(s:match("VmRSS:%s*(%d+)"))
end
local function settle()
	collectgarbage()
	collectgarbage()
	time.sleep(2000) -- the allocator's decay
end

local server = assert(udp.bind("127.0.0.1:0"))
local saddr = require "silly.net.c".sockname(server)
silly.fork(function()
	while true do
		local d, from = udp.recvfrom(server)
		if not d then
			break
		end
		udp.sendto(server, d, from)
	end
end)
settle()
local rss0, mem0 = rss_kb(), c.memused()

local fds, got = {}, 0
for i = 1, n do
	fds[i] = assert(udp.connect(saddr))
	udp.send(fds[i], "0123456789abcdef")
	if i % 200 == 0 then
		time.sleep(1) -- the kernel's receive queue of the echo socket is finite
	end
end
for i = 1, n do
	if udp.recvfrom(fds[i]) then
		got = got + 1
	end
end
settle()
local rss1, mem1 = rss_kb(), c.memused()

for i = 1, n do -- a reader on each, as a server with one task per socket
	silly.fork(function()
		udp.recvfrom(fds[i])
	end)
end
settle()
local rss2, mem2 = rss_kb(), c.memused()

for i = 1, n do
	udp.close(fds[i])
end
time.sleep(15000)
local rss3 = rss_kb()
print(string.format("udp: %d sockets, %d echoed; RSS start %d KB", n, got, rss0))
print(string.format("  idle, no reader:       %.2f KB a socket (allocator %.2f KB)", (rss1 - rss0) / n,
	(mem1 - mem0) / 1024 / n))
print(string.format("  idle, a task in recvfrom: %.2f KB a socket (allocator %.2f KB)", (rss2 - rss0) / n,
	(mem2 - mem0) / 1024 / n))
print(string.format("  15 s after closing: RSS %d KB (%.0f%% of start)", rss3, 100 * rss3 / rss0))
silly.exit(0)
