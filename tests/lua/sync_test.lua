-- silly.sync: waitgroup, channel, mutex.
local silly = require "silly"
local time = require "silly.time"
local waitgroup = require "silly.sync.waitgroup"
local channel = require "silly.sync.channel"
local mutex = require "silly.sync.mutex"
local T = require "testaux"

T.run(function()
	-- waitgroup waits for every fork, errors included.
	local wg = waitgroup.new()
	local done = 0
	for i = 1, 10 do
		wg:fork(function()
			time.sleep(i)
			done = done + 1
		end)
	end
	wg:fork(function() error("counted anyway") end)
	wg:wait()
	T.eq(done, 10)
	T.eq(wg.count, 0)
	wg:wait() -- nothing pending: returns at once

	-- channel: FIFO, hands values to a waiting popper, close semantics.
	local ch = channel.new()
	T.ok(ch:push(1))
	T.ok(ch:push(2))
	T.eq(ch:pop(), 1)
	T.eq(ch:pop(), 2)
	local ok, err = ch:push(nil)
	T.eq(ok, false)
	T.eq(err, "nil data")
	T.eq(select(2, ch:push(false)), "nil data")
	local got
	local popper = silly.fork(function() got = ch:pop() end)
	time.sleep(0)
	T.eq(silly.status(popper), "WAIT")
	T.raises(function() ch:pop() end, "channel.pop: another task")
	ch:push("handed")
	time.sleep(0)
	T.eq(got, "handed")
	ch:push("left")
	ch:close()
	T.eq(ch:pop(), "left", "queued items survive close")
	local v, cerr = ch:pop()
	T.eq(v, nil)
	T.eq(cerr, "channel closed")
	T.eq(select(2, ch:push(3)), "channel closed")
	local ch2 = channel.new()
	local res
	silly.fork(function() res = {ch2:pop()} end)
	time.sleep(0)
	ch2:close()
	time.sleep(0)
	T.eq(res[2], "channel closed", "close wakes the popper")

	-- mutex: exclusive per key, reentrant, FIFO, hand-off on unlock.
	local m = mutex.new()
	local trace = {}
	local inside = 0
	local wg2 = waitgroup.new()
	for i = 1, 5 do
		wg2:fork(function()
			local g = m:lock("k")
			inside = inside + 1
			T.eq(inside, 1, "one holder at a time")
			local g2 = m:lock("k") -- reentrant
			time.sleep(2)
			g2:unlock()
			trace[#trace + 1] = i
			inside = inside - 1
			g:unlock()
			g:unlock() -- a second unlock does nothing
		end)
	end
	-- A task that locks right after an unlock still waits its turn.
	wg2:fork(function()
		time.sleep(3)
		local g <close> = m:lock("k") -- luacheck: ignore 211 (held to the end of the scope)
		inside = inside + 1
		T.eq(inside, 1, "late locker waits")
		trace[#trace + 1] = "late"
		inside = inside - 1
	end)
	wg2:wait()
	T.eq(table.concat(trace, ","), "1,2,3,4,5,late")
	local other = m:lock("other key")
	other:unlock()
	T.raises(function() m:lock(nil) end, "mutex.lock: key must not be nil")
end)
