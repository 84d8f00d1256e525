-- Tasks: fork order, wait/wakeup, errors, statuses, ids, traces.
local silly = require "silly"
local time = require "silly.time"
local T = require "testaux"

T.run(function()
	-- fork runs after the caller yields, in FIFO order.
	local log = {}
	silly.fork(function() log[#log + 1] = 1 end)
	silly.fork(function() log[#log + 1] = 2 end)
	log[#log + 1] = 0
	time.sleep(0)
	T.eq(table.concat(log, ","), "0,1,2")

	-- wait / wakeup pass a value; statuses follow the task.
	local waiter
	waiter = silly.fork(function()
		local v = silly.wait()
		log.got = v
	end)
	time.sleep(0)
	T.eq(silly.status(waiter), "WAIT")
	silly.wakeup(waiter, "value")
	T.eq(silly.status(waiter), "READY")
	T.raises(function() silly.wakeup(waiter, 1) end, "silly.wakeup: the task must be waiting")
	time.sleep(0)
	T.eq(log.got, "value")
	T.eq(silly.status(silly.running()), "RUN")

	-- A task error is logged; the process and other tasks go on.
	local survived = false
	silly.fork(function() error("task exploded") end)
	silly.fork(function() survived = true end)
	time.sleep(1)
	T.ok(survived)

	-- Coroutines are pooled, yet each task starts clean.
	local seen = {}
	for i = 1, 50 do
		silly.fork(function() seen[i] = silly.trace() end)
	end
	time.sleep(0)
	for i = 1, 50 do
		T.eq(seen[i], 0, "a new task has no trace id")
	end

	-- Trace ids belong to the task and survive yields.
	local id = silly.tracenew()
	T.ok(id ~= 0)
	T.eq(silly.trace(id), 0)
	time.sleep(1)
	T.eq(silly.tracenew(), id, "kept across a yield")
	T.eq(silly.tracepropagate() & ~0xffff, id & ~0xffff)
	silly.tracespan(0x1234)
	T.eq(silly.tracepropagate() & 0xffff, 0x1234)
	T.raises(function() silly.tracespan("x") end, "silly.tracespan")
	T.eq(silly.trace(nil), id)

	-- genid counts up, tostring copies, pcall formats.
	local a, b = silly.genid(), silly.genid()
	T.eq(b, a + 1)
	local ok, err = silly.pcall(function() error("inner") end)
	T.eq(ok, false)
	T.ok(err:find("^error: ") and err:find("stack traceback", 1, true), err)

	-- Misuse is reported with the function's name.
	T.raises(function() silly.fork(42) end, "silly.fork: function expected")
	local co = coroutine.wrap(function() return pcall(silly.wait) end)
	local _, werr = co()
	T.ok(tostring(werr):find("silly.wait", 1, true), werr)
	T.raises(function() silly.exit("x") end, "silly.exit: integer expected")
	T.ok(silly.taskstat() >= 0)
	local tasks = silly.tasks()
	T.ok(tasks[silly.running()].status == "RUN")
end)
