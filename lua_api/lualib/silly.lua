-- silly: tasks (pooled coroutines), the event dispatcher, and trace ids.
--
-- All Lua runs on the loop thread. Every event enters Lua the same way:
-- C++ calls dispatch(f, ...) with the function the event's module
-- registered, and after it the run queue that fork/wakeup filled is drained
-- in FIFO order, entries added while draining included.
local c = require "silly.c"
local logc = require "silly.logger.c"
local budget = require "silly.budget.c"

local co_create = coroutine.create
-- coroutine.resume that marks each run for the task budget's watchdog.
local co_resume = budget.resume
local co_yield = coroutine.yield
local co_running = coroutine.running
local co_status = coroutine.status
local traceback = debug.traceback
local xpcall = xpcall
local type = type
local tostring = tostring
local error = error

local M = {}

-- Redis's lua-time-limit: a handler stuck this long freezes every player.
local DEFAULT_BUDGET_MS = 5000

M.pid = c.pid
M.version = c.version
M.gitsha1 = ""

-- Not constant: after a wave of closed sockets they are rebuilt smaller.
local task_status = setmetatable({}, {__mode = "k"})
local task_trace = setmetatable({}, {__mode = "k"})
local task_pool = {}
local pool_size = 0
-- Finished coroutines kept for reuse, at most: enough for a busy node's
-- turnover, not the peak of every wave of connections.
local POOL_MAX = 256
local runq_co, runq_val = {}, {}
local runq_head, runq_tail = 1, 0
local runq_shrink = false
local exiting = false
local hook_create, hook_term
local error_hooks = {} -- fn(co) for each task that ends with an error

local function log_error(...)
	logc.write(3, 0, ...)
end

-- Where an error belongs: the first frame of the script's own code (not
-- the runtime's lualib/) in a failed coroutine, or in a traceback's text.
local function site_of(co)
	for level = 0, 64 do
		local info = debug.getinfo(co, level, "Sl")
		if not info then
			break
		end
		if info.what ~= "C" and info.currentline > 0 and not info.short_src:find("^lualib/") then
			return info.short_src .. ":" .. info.currentline
		end
	end
	return "?"
end

function M._site(tb)
	for where in tostring(tb):gmatch("\n\t([^\n]-:%d+):") do
		if not where:find("^lualib/") and not where:find("^%[C%]") then
			return where
		end
	end
	return "?"
end

-- A task runs f, then parks its coroutine in the pool; the next resume of
-- a parked coroutine passes the next function to run (a tail call, so the
-- coroutine's stack does not grow). f is not wrapped in a protected call:
-- an error ends the coroutine, resume() logs it with the coroutine's own
-- traceback, and only coroutines that finished cleanly are reused.
-- At most three arguments, in fixed parameters: a vararg function keeps a
-- copy of its frame under the arguments, and every slot below a task's
-- blocked call counts against the 40 its stack starts with (see
-- _suspending). _host_fork packs longer argument lists into a closure.
local function task_end(co)
	task_trace[co] = nil
	if hook_term then
		hook_term(co)
	end
	task_status[co] = "EXIT"
end

local task_entry
task_entry = function(f, a, b, d)
	f(a, b, d)
	local co = co_running()
	task_end(co)
	if pool_size >= POOL_MAX then
		return -- the coroutine ends: a larger pool would only hold memory
	end
	pool_size = pool_size + 1
	task_pool[pool_size] = co
	return task_entry(co_yield("EXIT"))
end

local function task_new()
	local co
	if pool_size > 0 then
		co = task_pool[pool_size]
		task_pool[pool_size] = nil
		pool_size = pool_size - 1
	else
		co = co_create(task_entry)
	end
	if hook_create then
		hook_create(co)
	end
	return co
end

local function resume(co, ...)
	task_status[co] = "RUN"
	local ok, err = co_resume(co, ...)
	if ok then
		-- Every wait marks the task before it yields: still "RUN" means
		-- the body returned, which only a bare task's does (_spawn_bare).
		if task_status[co] == "RUN" and co_status(co) == "dead" then
			task_end(co)
		end
	else
		local trace = task_trace[co] or 0
		task_status[co] = nil
		task_trace[co] = nil
		if hook_term then
			hook_term(co)
		end
		logc.writeat(3, trace, site_of(co), "[silly] task error:", traceback(co, tostring(err)))
		for i = 1, #error_hooks do
			error_hooks[i](co)
		end
	end
end

-- Internal: fn(co) runs after a task ended with an error (logged by then),
-- so that a module releases what the task owned (silly.net.tcp closes a
-- connection whose handler raised). Cheaper than a protected call in each
-- such task: a pcall frame costs a blocked coroutine stack slots.
function M._on_task_error(fn)
	error_hooks[#error_hooks + 1] = fn
end

local function enqueue(co, v)
	local t = runq_tail + 1
	runq_tail = t
	runq_co[t] = co
	runq_val[t] = v
end

local function drain()
	while runq_head <= runq_tail and not exiting do
		local h = runq_head
		local co, v = runq_co[h], runq_val[h]
		runq_co[h], runq_val[h] = nil, nil
		runq_head = h + 1
		resume(co, v)
	end
	runq_head, runq_tail = 1, 0
	if runq_shrink then -- the queue's arrays kept the size of a wave
		runq_shrink = false
		runq_co, runq_val = {}, {}
	end
end

local function dispatch(f, a, b, d, e, g)
	f(a, b, d, e, g)
	if runq_head <= runq_tail then
		drain()
	end
end

--------------------------------------------------------------------------
-- Internal API for the other silly modules.

-- Runs f(a, b, d) in a new task now.
function M._spawn(f, a, b, d)
	local co = task_new()
	resume(co, f, a, b, d)
	return co
end

-- Runs f(a, b, d) now in a task whose coroutine has f itself as its body:
-- not taken from the pool nor given back to it, and no entry frame under
-- f, so a long-lived task (one serving a connection) has five more stack
-- slots for its own frames before a blocked call doubles its stack.
function M._spawn_bare(f, a, b, d)
	local co = co_create(f)
	if hook_create then
		hook_create(co)
	end
	resume(co, a, b, d)
	return co
end

-- Runs f(a, b, d) in a new task now, under the trace id `trace`.
function M._spawn_traced(trace, f, a, b, d)
	local co = task_new()
	task_trace[co] = trace
	resume(co, f, a, b, d)
	return co
end

-- Raises, naming `fname`, unless the caller may suspend; returns the task.
local function checkblock(fname)
	local co = co_running()
	if task_status[co] ~= "RUN" then
		error(fname .. ": must be called inside a task (see silly.fork)", 3)
	end
	return co
end
M._checkblock = checkblock

-- Suspends the running task in `status` until _wake(co, v); returns v.
function M._suspend(fname, status)
	local co = co_running()
	if task_status[co] ~= "RUN" then
		error(fname .. ": must be called inside a task (see silly.fork)", 3)
	end
	task_status[co] = status
	return co_yield(status)
end

-- Marks `co`, the running task (coroutine.running()), as suspended in
-- `status` and returns it; the caller then calls coroutine.yield itself
-- (what _wake passes comes back from that call). For the waits where idle
-- connections sit: no frame of ours and no C call above the caller keeps a
-- blocked stack within Lua's starting size (docs/architecture.md, "Memory
-- and limits").
function M._suspending(co, fname, status)
	if task_status[co] ~= "RUN" then
		error(fname .. ": must be called inside a task (see silly.fork)", 3)
	end
	task_status[co] = status
	return co
end

-- Resumes a suspended task now, passing it the arguments; for events
-- whose data is valid only during the call (a payload in a receive ring).
M._resume = resume

-- The running task if it may suspend (nil otherwise), and its trace id.
function M._current()
	local co = co_running()
	if task_status[co] ~= "RUN" then
		return nil, 0
	end
	return co, task_trace[co] or 0
end

-- Suspends `co`, the running task checked by _current(), in `status`.
function M._park(co, status)
	task_status[co] = status
	return co_yield(status)
end

-- Queues a suspended task to resume with v.
function M._wake(co, v)
	task_status[co] = "READY"
	enqueue(co, v)
end

function M._tracecurrent()
	return task_trace[co_running()] or 0
end

-- Once a second: a garbage-collector step when the heap grew (below), and
-- a full collection when a
-- wave of closes has ended: sockets went down by a quarter or more, and a
-- thousand or more, from their peak, and are no longer falling by a
-- thousand a second. So what the closed connections left is freed even
-- when nothing else allocates, and tables are rebuilt at their final size,
-- not in the middle of the wave.
local sockets_seen, sockets_peak = 0, 0
local wave_hooks = {}
local POOL_AFTER_WAVE = 32

-- Internal: fn() runs after a wave of closed sockets, before the full
-- collection: a module rebuilds its tables keyed by socket (a Lua table
-- keeps the size of its peak until it is filled again).
function M._on_wave(fn)
	wave_hooks[#wave_hooks + 1] = fn
end

-- A copy of t without the empty slots of its peak.
function M._compact(t)
	local n = {}
	for k, v in pairs(t) do
		n[k] = v
	end
	return setmetatable(n, getmetatable(t))
end

local function after_wave()
	for i = 1, #wave_hooks do
		wave_hooks[i]()
	end
	while pool_size > POOL_AFTER_WAVE do -- the wave's coroutines
		task_pool[pool_size] = nil
		pool_size = pool_size - 1
	end
	-- The task tables have weak keys: the wave's ended coroutines stay in
	-- them until a collection, and a copy made before it keeps their room.
	collectgarbage("collect")
	task_status = M._compact(task_status)
	task_trace = M._compact(task_trace)
	task_pool = M._compact(task_pool)
	-- The run queue's arrays keep the size of the wave's wake-ups (two
	-- arrays of 16,384 slots after 16,000 closes: 0.5 MB): dropped now when
	-- empty, else once it drains (an idle node may not drain again soon).
	if runq_head > runq_tail then
		runq_co, runq_val = {}, {}
		runq_head, runq_tail = 1, 0
	else
		runq_shrink = true
	end
	collectgarbage("collect")
	require "silly.net.c".trim() -- the C++ tables' room, too
	c.purge() -- hand the freed pages back now, not at the allocator's decay
end

-- Internal: what follows a wave, now; for a test that compares memory
-- after several waves at the same settled point, whenever the tick came.
M._after_wave = after_wave

-- A big transient buffer (a 64 MiB line read, a large message built) is
-- garbage the generational collector's steps may never reach on an idle
-- node, and pages the allocator keeps until its next decay, which an idle
-- process never reaches. So a full collection and a purge follow when,
-- since the last full collection, the heap grew by BIG_KB and by half, or
-- a socket gave back a buffer of 8 MiB or more. One that frees little (the
-- heap is big and live) makes the next wait twice as long, up to 64 s, so
-- a node that keeps a big heap is not collected in full every second.
local BIG_KB = 16 * 1024
local settled_kb = 0 -- the heap after the last full collection
local full_wait, full_next = 1, 0 -- ticks

local function collect_big(bigfreed)
	full_next = full_next - 1
	local kb = collectgarbage("count")
	local grew = kb - settled_kb >= BIG_KB and kb >= settled_kb * 1.5
	if not (grew or bigfreed) or full_next > 0 then
		return false
	end
	collectgarbage("collect")
	local after = collectgarbage("count")
	c.purge()
	if kb - after < (kb - settled_kb) / 2 then
		full_wait = math.min(full_wait * 2, 64)
	else
		full_wait = 1
	end
	full_next = full_wait
	settled_kb = after
	return true
end

-- The step is for a node that allocates too little for the collector to
-- run by itself (an idle node keeps its garbage). It is not free: a step of
-- the generational collector is a minor collection, which walks every
-- live coroutine's stack (Lua keeps threads gray), 10-20 ms with 100,000
-- sleeping tasks, and every timer due meanwhile fires that late. So it runs
-- only when the heap grew by STEP_GROWTH since the last tick: a node that
-- allocates runs its own collections, and one that does not has nothing
-- new to collect.
local STEP_GROWTH = 0.05
local stepped_kb = 0 -- the heap after the last tick
local steps = 0

local function gc_step()
	local kb = collectgarbage("count")
	if kb > stepped_kb * (1 + STEP_GROWTH) then
		collectgarbage("step")
		steps = steps + 1
		kb = collectgarbage("count")
	end
	stepped_kb = kb
end

-- Internal: how many steps the tick made, for a test of when it steps.
function M._gc_steps()
	return steps
end

local function gc_tick()
	local nc = require "silly.net.c"
	local n, peak = nc.count(), nc.peak() -- peak: since the last tick
	if peak > sockets_peak then
		sockets_peak = peak
	end
	local falling = sockets_seen - n >= 1000
	if not falling and sockets_peak - n >= 1000 and n <= sockets_peak * 3 // 4 then
		after_wave()
		sockets_peak = n
		settled_kb = collectgarbage("count")
	elseif not collect_big(nc.bigfreed() > 0) then
		gc_step()
	end
	sockets_seen = n
	require "silly.time".after(1000, gc_tick)
end

function M._start(chunk)
	-- Most of what a server allocates dies young (messages, per-call
	-- tables): the generational collector frees it in small steps, so a
	-- node's memory follows its live data instead of its garbage.
	collectgarbage("generational")
	c.register(dispatch)
	require "silly.signal"._install_defaults()
	require "silly.time".after(1000, gc_tick)
	-- --metrics=ADDR: the endpoint is up before the script runs.
	local maddr = require "silly.env".get("metrics")
	if maddr then
		local pok, ok, err = pcall(require("silly.metrics").serve, maddr)
		if not pok then
			err = tostring(ok):gsub("^.-tcp%.listen: ", "")
		end
		if not (pok and ok) then
			log_error("[silly] --metrics=" .. maddr .. ": " .. tostring(err))
			c.exit(1)
			return
		end
	end
	-- An error in the main chunk ends the process with 1 and its
	-- traceback, as `lua main.lua` does: a server that failed to start
	-- must not linger idle.
	-- --sys.task.budget_ms: a task that runs this long without yielding
	-- is stopped (silly.budget.c); the main chunk is spared.
	local budget_ms = math.tointeger(tonumber(require "silly.env".get("sys.task.budget_ms") or DEFAULT_BUDGET_MS))
	budget.start(budget_ms or DEFAULT_BUDGET_MS)
	if budget_ms ~= 0 then
		coroutine.resume = budget.resume -- luacheck: ignore 122 (the script's coroutines are watched too)
	end
	local co = task_new()
	budget.exempt(co)
	resume(co, function()
		local ok, err = xpcall(chunk, traceback)
		budget.exempt(nil)
		if not ok then
			logc.writeat(3, 0, M._site(err), "[silly] main script failed:", err)
			c.exit(1)
		end
	end)
	drain()
end

--------------------------------------------------------------------------
-- Public API.

function M.genid()
	local id, wrapped = c.genid()
	if wrapped then
		logc.write(2, 0, "[silly] genid wrapped around to 0")
	end
	return id
end

M.tostring = c.tostring

function M.fork(f)
	if type(f) ~= "function" then
		error("silly.fork: function expected, got " .. type(f), 2)
	end
	local co = task_new()
	task_status[co] = "READY"
	enqueue(co, f)
	return co
end

function M.wait()
	local co = co_running()
	local st = task_status[co]
	if st ~= "RUN" then
		error("silly.wait: the caller must be a running task, it is " .. tostring(st or "not a task"), 2)
	end
	task_status[co] = "WAIT"
	return co_yield("WAIT")
end

function M.wakeup(co, v)
	local st = task_status[co]
	if st ~= "WAIT" then
		error("silly.wakeup: the task must be waiting, it is " .. tostring(st), 2)
	end
	task_status[co] = "READY"
	enqueue(co, v)
end

function M.running()
	return co_running()
end

function M.status(co)
	return task_status[co]
end

function M.exit(code)
	if code ~= nil and math.type(code) ~= "integer" then
		error("silly.exit: integer expected, got " .. type(code), 2)
	end
	exiting = true
	c.exit(code or 0)
	for i = runq_head, runq_tail do
		runq_co[i], runq_val[i] = nil, nil
	end
	runq_head, runq_tail = 1, 0
	local co = co_running()
	if task_status[co] then
		task_status[co] = "EXIT"
		co_yield("EXIT") -- never resumed: the loop has stopped
	end
end

function M.taskstat()
	return runq_tail - runq_head + 1
end

-- Tasks alive (for metrics): O(tasks), meant for a scrape, not a hot path.
function M._taskcount()
	local n = 0
	for _ in pairs(task_status) do
		n = n + 1
	end
	return n
end

-- silly.onpost(fn): fn(text, id) runs as a task for each message a host
-- thread posted (Runtime::post); silly.reply(id, text) answers it, and the
-- host reads the answer with Runtime::take_reply.
function M.onpost(fn)
	if type(fn) ~= "function" then
		error("silly.onpost: function expected, got " .. type(fn), 2)
	end
	c.onpost(function(text, id)
		M._spawn(fn, text, id)
	end)
end

function M.reply(id, text)
	if math.type(id) ~= "integer" or type(text) ~= "string" then
		error("silly.reply: an integer id and a string expected", 2)
	end
	c.reply(id, text)
end

-- For Runtime::fork: f(...) in a new task now, and whatever it wakes.
function M._host_fork(f, ...)
	local co = task_new()
	if select("#", ...) > 3 then
		local args = table.pack(...)
		local fn = f
		f = function()
			return fn(table.unpack(args, 1, args.n))
		end
	end
	resume(co, f, ...)
	if runq_head <= runq_tail then
		drain()
	end
end

function M.tasks()
	local all = {}
	for co, st in pairs(task_status) do
		all[co] = {status = st, traceback = traceback(co)}
	end
	return all
end

local function with_traceback(e)
	return traceback("error: " .. tostring(e), 2)
end

function M.pcall(f, ...)
	return xpcall(f, with_traceback, ...)
end

function M.error(msg)
	log_error(msg)
	log_error(traceback("", 2))
end

function M.tracenew()
	local id = task_trace[co_running()]
	if id and id ~= 0 then
		return id
	end
	return c.tracenew()
end

function M.trace(id)
	local co = co_running()
	local prev = task_trace[co] or 0
	if id ~= nil and math.type(id) ~= "integer" then
		error("silly.trace: integer expected, got " .. type(id), 2)
	end
	task_trace[co] = id
	return prev
end

M.tracespan = c.tracespan

function M.tracepropagate()
	return c.tracepropagate(task_trace[co_running()] or 0)
end

function M.task_hook(create, term)
	hook_create, hook_term = create, term
	return resume, co_yield
end

return M
