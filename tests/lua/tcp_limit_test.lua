-- tcp.limit with reads larger than the limit, reads that drain a paused
-- socket, and reads of a closed socket (scripts of the original framework
-- rely on all three); after a read past the limit the socket keeps to its
-- limit again; a line far past the limit is read in a few turns, not one
-- byte a turn; and the memory of a huge line comes back once it is read.
local c = require "silly.c"
local time = require "silly.time"
local tcp = require "silly.net.tcp"
local T = require "testaux"

-- A server that writes `chunks` with a pause between them.
local function writer(chunks)
	local lid = T.ok(tcp.listen("127.0.0.1:0", function(fd)
		for _, chunk in ipairs(chunks) do
			tcp.write(fd, chunk)
			time.sleep(100)
		end
		time.sleep(5000)
		tcp.close(fd)
	end))
	return lid, tcp.sockname(lid)
end

T.run(function()
	-- 1. A read of more than the limit gets its bytes (it used to hang).
	local lid, addr = writer({("a"):rep(1024), ("b"):rep(1024)})
	local fd = T.ok(tcp.connect(addr))
	tcp.limit(fd, 1024)
	time.sleep(50)
	local d = T.ok(tcp.read(fd, 2048), "a read past the limit")
	T.eq(#d, 2048)
	T.eq(d, ("a"):rep(1024) .. ("b"):rep(1024))
	tcp.close(fd)
	tcp.close(lid)

	-- ... and so does a line longer than the limit.
	lid, addr = writer({("x"):rep(700), ("y"):rep(700), "\nrest"})
	fd = T.ok(tcp.connect(addr))
	tcp.limit(fd, 512)
	local line = T.ok(tcp.readline(fd), "a line past the limit")
	T.eq(line, ("x"):rep(700) .. ("y"):rep(700) .. "\n")
	tcp.close(fd)
	tcp.close(lid)

	-- 2. A read that drains a paused socket lets reading go on.
	lid, addr = writer({("c"):rep(1024), ("d"):rep(1024)})
	fd = T.ok(tcp.connect(addr))
	tcp.limit(fd, 1024)
	time.sleep(300) -- both chunks sent; reading paused at the limit
	T.eq(tcp.recvsize(fd), 1024, "paused at the limit")
	T.eq(tcp.readall(fd), ("c"):rep(1024), "the first 1024 bytes, up to the limit")
	time.sleep(300)
	T.eq(tcp.readall(fd), ("d"):rep(1024), "the next 1024 came in after the drain")
	tcp.close(fd)
	tcp.close(lid)

	-- 4. After a read past the limit, the limit holds again (it used to stay
	-- at the size of that read).
	lid, addr = writer({("e"):rep(2048), ("f"):rep(4096)})
	fd = T.ok(tcp.connect(addr))
	tcp.limit(fd, 1024)
	T.eq(#T.ok(tcp.read(fd, 2048)), 2048, "a read of twice the limit")
	time.sleep(300) -- the next 4096 bytes are sent; reading pauses at the limit
	T.eq(tcp.recvsize(fd), 1024, "back to the limit after the big read")
	tcp.close(fd)
	tcp.close(lid)

	-- 5. A 2 MiB line at a 1 MiB limit is read at once (it took a loop turn
	-- and a scan of the ring per byte past the limit: over 50 s).
	local big = ("z"):rep(2 << 20)
	lid = T.ok(tcp.listen("127.0.0.1:0", function(cfd)
		tcp.write(cfd, big .. "\n")
		time.sleep(5000)
		tcp.close(cfd)
	end))
	fd = T.ok(tcp.connect(tcp.sockname(lid)))
	tcp.limit(fd, 1 << 20)
	local t0 = time.monotonic()
	line = T.ok(tcp.readline(fd), "a 2 MiB line past a 1 MiB limit")
	local took = time.monotonic() - t0
	print(string.format("a 2 MiB line at a 1 MiB limit: %d ms", took))
	T.eq(#line, (2 << 20) + 1)
	T.le(took, 5000, "read within 5 s")
	tcp.close(fd)
	tcp.close(lid)
	line, big = nil, nil -- luacheck: ignore 311 (dropped for the collector)

	-- 6. The memory of a 64 MiB line comes back after it was read: the
	-- node is idle afterwards, and no allocation would trigger a collection.
	local function rss_mb()
		for l in io.lines("/proc/self/status") do
			local v = l:match("^VmRSS:%s+(%d+)")
			if v then
				return tonumber(v) / 1024
			end
		end
	end
	collectgarbage("collect")
	c.purge()
	local idle = rss_mb()
	local idle_kb = collectgarbage("count")
	local got
	lid = T.ok(tcp.listen("127.0.0.1:0", function(cfd)
		tcp.limit(cfd, 1 << 20)
		local l = tcp.readline(cfd)
		got = l and #l
		tcp.close(cfd)
	end))
	fd = T.ok(tcp.connect(tcp.sockname(lid)))
	do
		local chunk = ("w"):rep(1 << 20)
		for _ = 1, 64 do
			T.ok(tcp.write(fd, chunk))
			while tcp.sendsize(fd) > (8 << 20) do
				time.sleep(1)
			end
		end
		T.ok(tcp.write(fd, "\n"))
	end
	while not got do
		time.sleep(10)
	end
	T.eq(got, (64 << 20) + 1, "the 64 MiB line was read")
	tcp.close(fd)
	tcp.close(lid)
	-- Nothing here collects: the runtime's once-a-second tick must.
	local t1 = time.monotonic()
	local now, heap = rss_mb(), collectgarbage("count")
	local jemalloc = c.allocator == "jemalloc" -- the system's keeps what it likes
	while (heap > idle_kb + 16384 or (jemalloc and now > idle + 16)) and time.monotonic() - t1 < 30000 do
		time.sleep(100)
		now, heap = rss_mb(), collectgarbage("count")
	end
	print(string.format("Lua heap %.1f MB idle, %.1f MB %d ms after a 64 MiB line; RSS %.1f MB and %.1f MB (%s)",
		idle_kb / 1024, heap / 1024, time.monotonic() - t1, idle, now, c.allocator))
	T.le(heap, idle_kb + 16384, "the Lua heap comes back after a huge read")
	if jemalloc then
		T.le(now, idle + 16, "and so does the process's memory")
	end

	-- 3. readall of a closed or unknown socket says so, as read does.
	local r, err = tcp.readall(fd)
	T.eq(r, nil)
	T.eq(err, "socket closed")
	r, err = tcp.read(fd, 1)
	T.eq(r, nil)
	T.eq(err, "socket closed")
	r, err = tcp.readall(123456789)
	T.eq(r, nil)
	T.eq(err, "socket closed")
end)
