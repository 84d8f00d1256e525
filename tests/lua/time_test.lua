-- silly.time: 1 ms timers, after/cancel ordering, argument checks.
local time = require "silly.time"
local silly_fork = require("silly").fork
local T = require "testaux"

T.run(function()
	-- The original framework's sleep(1) takes up to 50 ms. A loaded machine
	-- may delay any one wake-up, so the middle one is judged; the fine
	-- figures are bench/cluster/failfast.sh's to report.
	local sleeps = {}
	for i = 1, 21 do
		local t0 = time.monotonic_us()
		time.sleep(1)
		sleeps[i] = time.monotonic_us() - t0
		T.ge(sleeps[i], 1000, "sleep(1) never wakes early")
	end
	table.sort(sleeps)
	print(string.format("sleep(1): median %d us, worst %d us", sleeps[11], sleeps[21]))
	T.le(sleeps[11], 20000, "sleep(1) takes about a millisecond, not 50")
	local t0 = time.monotonic()
	time.sleep(30)
	local took = time.monotonic() - t0
	T.ge(took, 30)
	T.le(took, 30 + 300, "sleep(30) wakes at its deadline, not at some later event")

	-- after() fires in deadline order; cancel() suppresses.
	local order = {}
	time.after(20, function(ud) order[#order + 1] = ud end, "c")
	time.after(5, function(ud) order[#order + 1] = ud end, "a")
	local cancelled = time.after(10, function() order[#order + 1] = "cancelled" end)
	time.after(10, function(ud) order[#order + 1] = ud end, "b")
	local s = time.after(15, function(session) order[#order + 1] = session end)
	time.cancel(cancelled)
	time.sleep(40)
	T.eq(#order, 4)
	T.eq(order[1], "a")
	T.eq(order[2], "b")
	T.eq(order[3], s, "without ud the callback receives its session")
	T.eq(order[4], "c")
	time.cancel(cancelled) -- again: ignored

	-- Errors in timer callbacks are logged and do not stop the loop.
	local after_error = false
	time.after(1, function() error("boom in timer") end)
	time.after(2, function() after_error = true end)
	time.sleep(10)
	T.ok(after_error, "later timers still fire")

	-- Clocks.
	local now = time.now()
	T.ok(math.type(now) == "integer" and now > 1600000000000, "now() is epoch ms")
	T.ok(time.monotonic() >= 0)

	-- Argument checks name the function.
	T.raises(function() time.sleep(1.5) end, "time.sleep: integer milliseconds expected")
	T.raises(function() time.after(1.5, print) end, "time.after: integer milliseconds expected, got float")
	T.raises(function() time.after("1", print) end, "time.after: integer milliseconds expected, got string")
	T.raises(function() time.after(nil, print) end, "time.after: integer milliseconds expected, got nil")
	T.raises(function() time.after(1, "x") end, "time.after: function expected, got string")
	T.raises(function() time.after(1) end, "time.after: function expected, got no value")
	-- The error points at the caller's line, as error(msg, 2) would.
	local ok, where = pcall(function() time.after(1, 2) end)
	T.ok(not ok and tostring(where):find("time_test.lua:%d+: time.after:"), where)
	-- ud, or the id without one; an integral float; a cancelled timer's ud
	-- is not kept.
	local got = {}
	local id1 = time.after(1, function(v) got[1] = v end)
	time.after(1.0, function(v) got[2] = v end, "ud")
	local gone = time.after(1, function() got[3] = true end, {})
	time.cancel(gone)
	time.sleep(20)
	T.eq(got[1], id1, "without ud the callback gets the id")
	T.eq(got[2], "ud")
	T.eq(got[3], nil, "cancelled")
	-- A freed slot is reused by the next timer: a stale id cancelled again
	-- must not touch the timer that now holds its slot, and ids stay unique.
	local fired = {}
	local stale = time.after(50, function() fired.stale = true end)
	time.cancel(stale)
	local fresh = time.after(5, function() fired.fresh = true end)
	T.ok(fresh ~= stale, "a reused slot gets a new id")
	time.cancel(stale)
	time.cancel(stale + 0.5) -- not an id: ignored
	time.cancel("x")
	time.sleep(30)
	T.ok(fired.fresh, "cancelling a stale id left the slot's new timer alone")
	T.eq(fired.stale, nil)
	-- A fired sleep's slot goes to the next after(): a timer made while
	-- many tasks sleep still fires once, with its own ud.
	local woke, count = 0, 0
	for _ = 1, 200 do
		silly_fork(function()
			time.sleep(1)
			woke = woke + 1
			time.after(1, function(v) count = count + v end, 1)
		end)
	end
	for _ = 1, 1000 do -- ten seconds at most; about 3 ms expected
		if count == 200 then
			break
		end
		time.sleep(10)
	end
	T.eq(woke, 200)
	T.eq(count, 200, "each after() fired once")
	local co = coroutine.wrap(function() return pcall(time.sleep, 1) end)
	local _, err = co()
	T.ok(tostring(err):find("time.sleep: must be called inside a task", 1, true), err)
	time.sleep(2.0) -- an integral float is accepted
end)
