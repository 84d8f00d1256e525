-- Soak: 1,000,000 calls through a node that answers after random delays
-- (some beyond the caller's timeout) and is killed with SIGKILL and
-- restarted at random moments. Every call ends (answered, timed out or
-- closed); afterwards no session is pending, no task is left waiting, and
-- the allocator holds what it held before.
local silly = require "silly"
local time = require "silly.time"
local cluster = require "silly.net.cluster"
local waitgroup = require "silly.sync.waitgroup"
local nc = require "silly.net.c"
local c = require "silly.c"
local T = require "testaux"

local TOTAL = tonumber(require "silly.env".get("calls") or 1000000)
local WORKERS = 100

T.run(function()
	local port = T.port()
	local addr, pid = T.start("helper_fault_node.lua", "--port=" .. port)
	local client = cluster.new {
		timeout = 3, -- ms: the node's 0..4 ms delays overrun it now and then
		marshal = T.string_marshal,
		unmarshal = T.string_unmarshal,
		call = function() end,
		close = function() end,
	}
	collectgarbage()
	collectgarbage()
	local mem0, sockets0 = c.memused(), nc.count()

	local fd = assert(client.connect(addr))
	local done, answered, timeouts, closed, restarts = 0, 0, 0, 0, 0
	local stop = false
	-- The link, remade after each restart by the first worker to find it
	-- gone; the others wait for that one.
	local connecting = false
	local function link()
		while not fd and not stop do
			if connecting then
				time.sleep(1)
			else
				connecting = true
				fd = client.connect(addr)
				connecting = false
				if not fd then
					time.sleep(5)
				end
			end
		end
		return fd
	end
	math.randomseed(2026)
	silly.fork(function()
		while not stop do
			time.sleep(math.random(200, 800))
			if stop then
				break
			end
			T.kill(pid, "KILL")
			restarts = restarts + 1
			addr, pid = T.start("helper_fault_node.lua", "--port=" .. port)
		end
	end)
	local wg = waitgroup.new()
	local t0 = time.monotonic()
	for _ = 1, WORKERS do
		wg:fork(function()
			while done < TOTAL do
				local f = link()
				if not f then
					break
				end
				done = done + 1
				local cmd = math.random(4) == 1 and 2 or 1
				local r, err = client.call(f, cmd, "soak")
				if r == "soak" then
					answered = answered + 1
				elseif err == "timeout" then
					timeouts = timeouts + 1
				elseif err == "closed" then
					closed = closed + 1
					if fd == f then
						fd = nil
					end
				else
					error("unexpected call result: " .. tostring(r) .. " " .. tostring(err))
				end
			end
		end)
	end
	wg:wait()
	stop = true
	local secs = (time.monotonic() - t0) / 1000
	print(string.format("%d calls in %.1f s: %d answered, %d timed out, %d closed by %d restarts; %d late responses dropped",
		done, secs, answered, timeouts, closed, restarts, cluster.stats().dropped))
	T.ge(done, TOTAL, "every call made")
	T.eq(answered + timeouts + closed, done, "every call ended one way or another")
	T.ge(restarts, 1, "the node was restarted under load")
	T.ge(timeouts, 1, "some calls timed out")
	T.ge(closed, 1, "some calls were failed by a dropped link")

	if fd then
		client.close(fd)
	end
	time.sleep(50)
	T.eq(cluster.stats().pending, 0, "no session left pending")
	local waiting = 0
	for _, info in pairs(silly.tasks()) do
		if info.status == "WAIT" or info.status == "SLEEP" then
			waiting = waiting + 1
		end
	end
	-- The restarter may be asleep until its next turn; nothing else waits.
	T.le(waiting, 1, "no task left waiting on a call")
	T.eq(nc.count(), sockets0, "no socket left open")
	collectgarbage()
	collectgarbage()
	local grew = c.memused() - mem0
	print(string.format("allocator: %d bytes before, %d after (%+d)", mem0, c.memused(), grew))
	T.le(grew, 1024 * 1024, "no leaked buffers: the allocator holds within 1 MiB of the start")
end, 600000)
