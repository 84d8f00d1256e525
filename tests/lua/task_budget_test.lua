-- The task budget (--sys.task.budget_ms=200 here): a task that runs past
-- it without yielding is stopped, a pcall in its loop cannot keep it
-- alive, tasks that yield are never touched, a runaway cluster handler's
-- caller gets "remote handler error" while other calls keep being answered,
-- hooks of the script's own stay, the main chunk is spared, and each stop
-- is counted.
local silly = require "silly"
local time = require "silly.time"
local tcp = require "silly.net.tcp"
local waitgroup = require "silly.sync.waitgroup"
local budget = require "silly.budget.c"
local T = require "testaux"

-- Tasks that ended with an error (silly logs the error itself).
local failed = setmetatable({}, {__mode = "k"})
silly._on_task_error(function(co)
	failed[co] = true
end)

-- Runs f as a task; returns whether it finished and how long it took,
-- once it is over (or after 10 s: a budget of 200 ms that has not stopped
-- it by then never will). After a stop the budget raises again in any code
-- of the task's own, so the task is watched from here, not from inside.
local function outcome(f)
	local done = false
	local co = silly.fork(function()
		f()
		done = true
	end)
	local t0 = time.monotonic()
	while not done and not failed[co] and time.monotonic() - t0 < 10000 do
		time.sleep(10)
	end
	return done, time.monotonic() - t0
end

-- Runs f in a coroutine of this task's own; returns what resume returns.
local function in_coroutine(f)
	return coroutine.resume(coroutine.create(f))
end

T.run(function()
	T.eq(budget.stats().budget_ms, 200, "the budget given on the command line")
	local before = budget.stats().exceeded

	-- A plain runaway.
	local finished, took = outcome(function()
		while true do end
	end)
	T.eq(finished, false, "a task in an endless loop is stopped")
	T.ge(took, 190, "not before its budget (" .. took .. " ms)")
	T.le(took, 5000, "within ten times a budget and a check (" .. took .. " ms)")
	local ok, err = in_coroutine(function()
		while true do end
	end)
	T.eq(ok, false, "a coroutine in an endless loop is stopped")
	T.ok(err:find("task_budget_test.lua:%d+: task exceeded its budget of 200 ms$"), "with the error: " .. err)

	-- A pcall inside the loop cannot swallow it.
	local caught = 0
	finished = outcome(function()
		while true do
			pcall(function()
				while true do end
			end)
			caught = caught + 1
		end
	end)
	T.eq(finished, false, "a pcall inside the loop does not keep the task alive")
	T.le(caught, 1, "the error is raised again before the loop goes round")

	-- Tasks that yield run as long as they like.
	local t0 = time.monotonic()
	finished = outcome(function()
		for _ = 1, 6 do
			local s = time.monotonic()
			while time.monotonic() - s < 100 do end -- half the budget, then a yield
			time.sleep(0)
		end
	end)
	T.eq(finished, true, "600 ms of work in 100 ms slices, yielding between: untouched")
	T.ge(time.monotonic() - t0, 590, "it did run that long")

	-- The script's own hook.
	local counted = 0
	finished = outcome(function()
		debug.sethook(function() counted = counted + 1 end, "", 1000)
		for _ = 1, 3 do
			for _ = 1, 100000 do end
			time.sleep(0)
		end
		debug.sethook()
	end)
	T.eq(finished, true, "a task with a hook of its own that yields: untouched")
	T.ge(counted, 200, "its hook got its count events (" .. counted .. ")")
	finished = outcome(function()
		debug.sethook(function() counted = counted + 1 end, "", 1000)
		while true do end
	end)
	T.eq(finished, false, "a runaway task with a hook of its own: stopped too")

	-- A coroutine the task resumes itself: stopped, the task goes on.
	finished = outcome(function()
		local co = coroutine.create(function() while true do end end)
		local cok, e = coroutine.resume(co)
		assert(not cok and e:find("budget", 1, true), "the coroutine was stopped: " .. tostring(e))
	end)
	T.eq(finished, true, "a runaway coroutine of the task's own is stopped, the task goes on")

	-- A cluster handler.
	local server = T.cluster {call = function(body)
		if body == "spin" then
			while true do end
		end
		return body
	end}
	local lfd = T.ok(server.listen("127.0.0.1:0"))
	local client = T.cluster {timeout = 30000}
	local link = T.ok(client.connect(tcp.sockname(lfd)))
	T.eq(client.call(link, 1, "hello"), "hello", "a call before")
	local wg = waitgroup.new()
	local answers = {}
	local spin_res, spin_err
	wg:fork(function()
		spin_res, spin_err = client.call(link, 1, "spin")
	end)
	for i = 1, 5 do
		wg:fork(function()
			answers[i] = client.call(link, 1, "echo" .. i)
		end)
	end
	wg:wait()
	T.eq(spin_res, nil, "the runaway handler's call fails")
	T.ok(spin_err and spin_err:find("^remote handler error: .*budget"), "with the reason: " .. tostring(spin_err))
	for i = 1, 5 do
		T.eq(answers[i], "echo" .. i, "the call beside it is answered (" .. i .. ")")
	end
	T.eq(client.call(link, 1, "after"), "after", "the node keeps serving")
	T.ok(tcp.isalive(link), "and the link stayed up")

	T.eq(budget.stats().exceeded - before, 6, "each stop counted")
	local metrics = require "silly.metrics"
	require("silly.metrics.collectors").enable()
	T.ok(metrics.text():find("silly_task_budget_exceeded_total " .. budget.stats().exceeded, 1, true),
		"and exposed as a metric")

	-- The main chunk is spared; a budget of 0 is none. (Run on a hive
	-- thread: reading a command's output here would block this task past
	-- its own budget.)
	local shell = T.shell()
	local text, code = shell(string.format("%s %s/helper_budget_main.lua --sys.task.budget_ms=100", T.silly, T.dir))
	T.ok(text:find("main chunk ran 400 ms", 1, true) and code == 0, "the main chunk: spared")
	T.ok(text:find("task stopped", 1, true), "a task of the same process: stopped")
	text = shell(string.format("%s %s/helper_budget_main.lua --sys.task.budget_ms=0", T.silly, T.dir))
	T.ok(text:find("task finished", 1, true), "with --sys.task.budget_ms=0, nothing is stopped")
end)
