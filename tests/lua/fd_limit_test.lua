-- A node at its descriptor limit sheds what it cannot take and recovers:
-- an echo server under a 1,024-descriptor limit (as Debian's default soft
-- limit, which prlimit makes hard so nothing can raise it) gets 1,100
-- idle connections. While they stay and after they leave, it does not
-- spin (CPU), it does not flood its log, it gives its descriptors back,
-- and a client that comes afterwards is served.
local silly = require "silly"
local time = require "silly.time"
local tcp = require "silly.net.tcp"
local T = require "testaux"

local TCK = 100 -- USER_HZ on Linux

local function cpu_ticks(pid)
	local f = assert(io.open(string.format("/proc/%d/stat", pid)))
	local stat = f:read("l")
	f:close()
	local fields = {}
	for v in stat:match("%) (.*)$"):gmatch("%S+") do
		fields[#fields + 1] = v
	end
	return tonumber(fields[12]) + tonumber(fields[13]) -- utime, stime
end

-- The share of one core the process used over ms.
local function cpu_share(pid, ms)
	local t0 = cpu_ticks(pid)
	time.sleep(ms)
	return (cpu_ticks(pid) - t0) / TCK / (ms / 1000)
end

local function open_fds(pid)
	local p = io.popen(string.format("ls /proc/%d/fd | wc -l", pid))
	local n = tonumber(p:read("l"))
	p:close()
	return n
end

local function lines_in(path)
	local n = 0
	for _ in io.lines(path) do
		n = n + 1
	end
	return n
end

T.run(function()
	if require("silly.c").sanitized then
		-- The sanitizers test whether memory is readable through a pipe: at
		-- the descriptor limit that fails, and they report a false error.
		print("SKIPPED under sanitizers: they need a spare descriptor this test takes away")
		return
	end
	local log = T.dir and os.tmpname()
	local addr, pid = T.start("helper_echo_server.lua", "", {wrap = "prlimit --nofile=1024:1024", log = log})
	local idle_fds = open_fds(pid)

	-- 1,100 connections, opened 50 at a time; each that got through stays idle.
	local conns = {}
	local wg = 0
	for i = 1, 1100 do
		wg = wg + 1
		silly.fork(function()
			local fd = tcp.connect(addr, nil, 3000)
			if fd then
				conns[#conns + 1] = fd
			end
			wg = wg - 1
		end)
		if i % 50 == 0 then
			while wg > 0 do
				time.sleep(5)
			end
		end
	end
	while wg > 0 do
		time.sleep(5)
	end
	print(string.format("%d of 1100 connections opened; the server holds %d descriptors", #conns, open_fds(pid)))
	T.ge(#conns, 1000, "most connections are opened")
	T.le(open_fds(pid), 1024, "the server stays within its limit")

	-- At the limit, with the attackers still connected: no spin.
	local busy = cpu_share(pid, 1000)
	print(string.format("server CPU at its limit: %.0f %% of a core", busy * 100))
	T.le(busy, 0.5, "a node at its descriptor limit does not spin")

	for _, fd in ipairs(conns) do
		tcp.close(fd)
	end
	-- Idle within 3 s after they leave.
	time.sleep(1000)
	local after = cpu_share(pid, 2000)
	print(string.format("server CPU 1-3 s after they left: %.0f %% of a core", after * 100))
	T.le(after, 0.1, "idle again after the connections leave")
	local fds = open_fds(pid)
	print(string.format("server descriptors: %d before, %d after", idle_fds, fds))
	T.le(fds, idle_fds + 5, "descriptors come back")

	-- A legitimate client is served.
	local fd = T.ok(tcp.connect(addr, nil, 3000), "a new client connects")
	T.ok(tcp.write(fd, "still here\n"))
	T.eq(tcp.readline(fd), "still here\n", "and is answered")
	tcp.close(fd)

	local n = lines_in(log)
	print(string.format("server log: %d lines", n))
	T.le(n, 5000, "the log is not flooded")
	os.remove(log)
end, 120000)
