-- The once-a-second collector step runs only when the heap grew since the
-- last tick: a node with many sleeping tasks that allocates nothing is not
-- paused every second (a step walks every coroutine's stack), and garbage
-- left on an otherwise idle node is still collected.
local silly = require "silly"
local time = require "silly.time"
local T = require "testaux"

T.run(function()
	for _ = 1, 2000 do
		silly.fork(function()
			while true do
				time.sleep(math.random(50, 150))
			end
		end)
	end
	time.sleep(2500) -- the first ticks see the tasks' own growth
	local s0 = silly._gc_steps()
	time.sleep(3500)
	T.eq(silly._gc_steps() - s0, 0, "no step while 2,000 tasks sleep and nothing allocates")

	-- Garbage on an idle node: grown by far more than 5 %, stepped within
	-- two ticks, and freed.
	local before = collectgarbage("count")
	local junk = {}
	for i = 1, 50000 do
		junk[i] = {i}
	end
	junk = nil -- luacheck: ignore
	local grown = collectgarbage("count")
	T.ge(grown, before * 1.2, "the garbage is there")
	local s1 = silly._gc_steps()
	local deadline = time.monotonic() + 30000
	while silly._gc_steps() == s1 and time.monotonic() < deadline do
		time.sleep(100)
	end
	T.ge(silly._gc_steps(), s1 + 1, "the tick stepped once the heap grew")
	-- A step of the generational collector frees young garbage at once.
	T.le(collectgarbage("count"), grown * 0.9, "and the garbage went")
end)
