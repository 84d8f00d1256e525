-- silly.hive: blocking Lua work on threads beside the loop.
--
-- A worker is a Lua state of its own (hive.spawn); hive.invoke runs its
-- function on a pool thread and suspends the calling task until it
-- returns, so file I/O, a slow hash or a big sort never stall the loop.
-- One call at a time per worker (later callers wait their turn); threads
-- start on demand up to hive.limit's maximum and those idle for
-- c.IDLE_MS are stopped once a second, down to its minimum.
local silly = require "silly"
local time = require "silly.time"
local c = require "silly.hive.c"
local mutex = require "silly.sync.mutex"

local error = error

local M = {}
local waiting = {} -- call id -> the task that made it
local turns = mutex.new() -- one call at a time per worker

---Threads kept (min) and started at most (max); queue bounds the calls
---that wait for a thread (65536 by default; a call beyond it raises).
---@type fun(min:integer, max:integer, queue:integer?)
M.limit = c.limit
---@type fun():integer
M.threads = c.threads
---@type fun(code:string, ...):silly.hive.worker
M.spawn = c.spawn
---@type fun():integer
M.prune = c.prune

-- Looked up on each tick: a script may stop the automatic prune by
-- replacing c.prune (the original framework's tests do).
local function prune_tick()
	c.prune()
	time.after(1000, prune_tick)
end
time.after(1000, prune_tick)

c.ondone(function(id)
	local co = waiting[id]
	waiting[id] = nil
	if co then
		silly._wake(co)
	end
end)

local function finish(ok, ...)
	if not ok then
		error((...), 3)
	end
	return ...
end

---Runs the worker's function with (...) on a pool thread and returns what
---it returns; raises its error.
---@param worker silly.hive.worker
---@return ...
function M.invoke(worker, ...)
	local co = silly._checkblock("hive.invoke")
	local _ <close> = turns:lock(worker)
	waiting[c.push(worker, ...)] = co
	silly._suspend("hive.invoke", "HIVE")
	return finish(c.results(worker))
end

---Calls waiting for a thread, and threads running a call.
---@return integer queued, integer busy
M.queued = c.queued

return M
