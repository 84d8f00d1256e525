-- silly.hive: blocking Lua work on pool threads, the loop free meanwhile;
-- threads on demand up to the maximum, idle ones pruned to the minimum.
local silly = require "silly"
local time = require "silly.time"
local hive = require "silly.hive"
local hc = require "silly.hive.c"
local waitgroup = require "silly.sync.waitgroup"
local T = require "testaux"

-- The automatic prune is stopped (as the original framework's test does)
-- so that the counts below depend on this script alone.
local prune = hc.prune
hc.prune = function() end

T.run(function()
	-- Calls, arguments and results.
	local adder = hive.spawn([[
		local init = ...
		return function(a, b) return a + init, a + b, a * b end
	]], 6)
	local wg = waitgroup.new()
	local got = {}
	for i, args in ipairs({{2, 3}, {3, 5}}) do
		wg:fork(function()
			got[i] = {hive.invoke(adder, args[1], args[2])}
		end)
	end
	wg:wait()
	T.deepeq(got[1], {8, 5, 6}, "concurrent calls on one worker, first")
	T.deepeq(got[2], {9, 8, 15}, "concurrent calls on one worker, second")

	local tables = hive.spawn([[
		local t = ...
		return function(b) return {sum = t.a + b.a, nested = {b.list[2]}}, nil, "x" end
	]], {a = 1})
	local r, n, x = hive.invoke(tables, {a = 4, list = {10, 20}})
	T.deepeq(r, {sum = 5, nested = {20}}, "tables cross both ways")
	T.eq(n, nil, "a nil result keeps its place")
	T.eq(x, "x", "the result after it")
	T.eq(select("#", hive.invoke(tables, {a = 0, list = {}})), 3, "three results")

	-- Errors: in the code, in a call, in what crosses.
	T.raises(function() hive.spawn("return funcion(a) end") end, "hive.spawn: hive:1:", "broken code")
	T.raises(function() hive.spawn("return 1") end, "the code must return a function, got number", "no function")
	T.raises(function() hive.spawn("error('at init')") end, "at init", "an error while starting")
	T.raises(function() hive.spawn() end, "bad argument #1 to 'spawn'", "no code")
	local failing = hive.spawn([[return function() error("$foo$") end]])
	local ok, err = pcall(hive.invoke, failing)
	T.eq(ok, false, "a call's error is raised")
	T.ok(err:find("$foo$", 1, true), "with its message: " .. err)
	T.eq(hive.invoke(adder, 1, 1), 7, "a worker serves again after a failed call elsewhere")
	T.raises(function() hive.invoke(adder, print) end, "hive.invoke: argument 1: a function cannot cross",
		"a function argument")
	local cyc = {}
	cyc.self = cyc
	T.raises(function() hive.invoke(adder, cyc) end, "nested deeper than 100", "a cyclic table")
	local returns_fn = hive.spawn([[return function() return 1, print end]])
	T.raises(function() hive.invoke(returns_fn) end, "hive.invoke: result 2: a function cannot cross",
		"a function result")
	T.eq(hive.invoke(adder, 2, 2), 8, "still serving after refused values")
	T.raises(function() hive.invoke({}) end, "bad argument #1 to 'push'", "not a worker")
	T.raises(function() hive.limit(3, 2) end, "min must be 0..max", "min above max")
	T.raises(function() hive.limit(0, 0) end, "max must be 1..4096", "max zero")

	-- The loop runs while a call blocks its thread.
	local sleeper = hive.spawn([[
		return function(s) os.execute("sleep " .. s) return "slept" end
	]])
	local ticks = 0
	local done = false
	silly.fork(function()
		while not done do
			time.sleep(20)
			ticks = ticks + 1
		end
	end)
	T.eq(hive.invoke(sleeper, "0.5"), "slept", "the blocking call returns")
	done = true
	T.ge(ticks, 5, "timers fired while the call blocked its thread (20 ms ticks over 500 ms)")

	-- Threads: on demand up to the maximum, pruned to the minimum.
	hive.limit(2, 4)
	local before = hive.threads()
	T.le(before, 2, "sequential calls needed at most two threads")
	local started = time.monotonic()
	wg = waitgroup.new()
	for _ = 1, 8 do
		wg:fork(function()
			local w = hive.spawn([[return function() os.execute("sleep 0.3") return true end]])
			T.eq(hive.invoke(w), true, "a parallel call")
		end)
	end
	wg:wait()
	T.eq(hive.threads(), 4, "eight parallel calls grew the pool to its maximum")
	T.ge(time.monotonic() - started, 590, "eight 300 ms calls on four threads take two rounds")
	T.eq(prune(), 0, "threads idle for less than IDLE_MS stay")
	time.sleep(hc.IDLE_MS + 500)
	T.eq(prune(), 2, "idle threads beyond the minimum stopped")
	T.eq(hive.threads(), 2, "down to the minimum")
	T.eq(hive.invoke(adder, 0, 0), 6, "calls go on after a prune")

	-- A bounded queue: a call beyond it raises and loses nothing queued.
	hive.limit(1, 1, 2)
	prune()
	T.eq(hive.threads(), 1, "a lower maximum stops idle threads at the next prune")
	local gate = os.tmpname()
	local waiter = [[
		local gate = ...
		return function()
			while io.open(gate) do os.execute("sleep 0.02") end
			return "through"
		end
	]]
	local results, refused = {}, 0
	wg = waitgroup.new()
	for _ = 1, 5 do
		local w = hive.spawn(waiter, gate)
		wg:fork(function()
			local okc, res = pcall(hive.invoke, w)
			if okc then
				results[#results + 1] = res
			else
				T.ok(res:find("hive.invoke: the queue is full", 1, true), "the refusal says why: " .. res)
				refused = refused + 1
			end
		end)
	end
	time.sleep(200)
	os.remove(gate)
	wg:wait()
	T.ge(#results, 2, "the running call and the queued ones finish")
	T.le(#results, 3, "no more than one running and two queued")
	T.eq(#results + refused, 5, "every call answered")
	local q, busy = hive.queued()
	T.eq(q, 0, "nothing left queued")
	T.eq(busy, 0, "no thread busy")
	hive.limit(2, 4, 65536)
	T.done()
end)
