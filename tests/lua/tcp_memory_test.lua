-- What an idle connection costs the Lua heap when its task is blocked in
-- tcp.read or tcp.readline: the task's coroutine must keep the 40-slot
-- stack Lua starts it with. A frame or a C call too deep on the way to the
-- wait makes Lua double the stack (+0.7 KB a connection, for as long as
-- the task lives); see docs/architecture.md, "Memory and limits".
local tcp = require "silly.net.tcp"
local time = require "silly.time"
local T = require "testaux"

local N = 100
-- Bytes of Lua heap a link may cost, its client side in this process
-- included (measured: 1,411 with the stack kept; 2,142 with it doubled).
local BUDGET = 1800

local function heap()
	collectgarbage("collect")
	collectgarbage("collect")
	return collectgarbage("count") * 1024
end

-- A listener running `handler` and n links to it.
local function open_links(handler, n)
	local lid = T.ok(tcp.listen("127.0.0.1:0", handler))
	local addr = tcp.sockname(lid)
	local fds = {}
	for i = 1, n do
		fds[i] = T.ok(tcp.connect(addr))
	end
	return fds
end

-- Opens N links to a listener running `handler`, echoes one line on each
-- (the handler blocks again in its read when the echo is back), and
-- returns the Lua heap each link added. The links stay open: their tasks
-- must not end, or the next listener's would be their coroutines, reused.
local function cost_per_link(handler)
	local before = heap()
	local fds = open_links(handler, N)
	for i = 1, N do
		tcp.write(fds[i], "ping\n")
	end
	for i = 1, N do
		T.eq(tcp.readline(fds[i]), "ping\n", "echo on link " .. i)
	end
	return (heap() - before) / N
end

T.run(function()
	-- The shape of a plain echo server.
	local plain = cost_per_link(function(fd)
		while true do
			local m = tcp.readline(fd)
			if not m then
				break
			end
			tcp.write(fd, m)
		end
		tcp.close(fd)
	end)
	T.le(plain, BUDGET, "a link served by a task blocked in readline (bytes)")

	-- The room a handler has: two parameters, three locals, and its reads
	-- made in a helper function with locals of its own.
	local function read_line(fd)
		local first = tcp.read(fd, 1)
		if not first then
			return nil
		end
		local rest = tcp.readline(fd)
		return rest and first .. rest
	end
	local roomy = cost_per_link(function(fd, addr)
		local session, count, last = {addr = addr}, 0, nil
		while true do
			local line = read_line(fd)
			if not line then
				break
			end
			count, last = count + 1, line
			tcp.write(fd, line)
		end
		session.count, session.last = count, last
		tcp.close(fd)
	end)
	T.le(roomy, BUDGET, "a handler with locals, reading through a helper (bytes)")

	-- The measure sees the doubling: a handler keeping a dozen registers
	-- live across its read pays for the larger stack.
	local deep = cost_per_link(function(fd)
		local a, b, c, d, e, f, g, h, i, j, k, l = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
		while true do
			local m = tcp.read(fd, 5)
			if not m then
				break
			end
			tcp.write(fd, m)
		end
		tcp.close(fd, a + b + c + d + e + f + g + h + i + j + k + l)
	end)
	print(string.format("Lua heap a link: plain %.0f, roomy %.0f, deep %.0f bytes", plain, roomy, deep))
	T.ge(deep, plain + 500, "a deep handler's doubled stack shows in the measure (bytes)")

	-- After a wave of closes the heap comes back: the once-a-second tick
	-- sees the sockets fall and stop falling, then rebuilds the tables the
	-- wave grew (the scheduler's, whose weak keys it first clears, the run
	-- queue's, the modules' by socket) and trims the coroutine pool.
	local WAVE = 2000
	local before = heap()
	local fds = open_links(function(fd)
		while tcp.read(fd, 1) do
		end
		tcp.close(fd)
	end, WAVE)
	time.sleep(100)
	local peak = heap()
	for i = 1, WAVE do
		tcp.close(fds[i])
	end
	fds = nil -- luacheck: ignore 311 (dropped for the collector)
	local after
	for _ = 1, 200 do -- the tick needs two or three seconds
		time.sleep(100)
		after = heap()
		if after - before < 100 * 1024 then
			break
		end
	end
	print(string.format("Lua heap: %.0f KB, with %d more links %.0f KB, after they closed %.0f KB", before / 1024,
		WAVE, peak / 1024, after / 1024))
	T.le(after - before, 100 * 1024, "the heap after a wave of closes, over the level before it (bytes)")

	-- tcp.write is the C function itself; its errors still name it.
	T.raises(function()
		tcp.write(1, nil)
	end, "tcp.write: string, table or lightuserdata expected, got nil")
end)
