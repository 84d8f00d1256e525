-- silly.time: clocks and timers with 1 ms resolution.
local silly = require "silly"
local c = require "silly.c"

local mtype = math.type
local error = error
local type = type
local timeout = c.timeout
local timercancel = c.timercancel
local suspend = silly._suspend
local wake = silly._wake
local spawn = silly._spawn

local M = {}

-- A timer's slot -> the sleeping task, or after()'s function; its ud, when
-- one was given, in udata (no table per timer: after() is on hot paths).
-- The slot is the id's low 32 bits: the core reuses freed slots first, so
-- the keys stay dense and live in the tables' array part (half the memory
-- of hash nodes, no rehash walks). A slot has one live timer at a time; the
-- generation in the id's high bits is checked by the core (timercancel).
local SLOT = c.timerslotmask
local pending = {}
local udata = {}

local function check_ms(fname, ms)
	if mtype(ms) ~= "integer" then
		if type(ms) == "number" and ms == ms // 1 then
			return ms // 1 | 0
		end
		error(fname .. ": integer milliseconds expected, got " .. (mtype(ms) or type(ms)), 3)
	end
	return ms
end

c.ontimer(function(id)
	local k = id & SLOT
	local t = pending[k]
	if not t then
		return
	end
	pending[k] = nil
	if type(t) == "thread" then
		wake(t)
	else
		local ud = udata[k]
		if ud ~= nil then
			udata[k] = nil
			spawn(t, ud)
		else
			spawn(t, id)
		end
	end
end)

M.now = c.now
M.monotonic = c.monotonic
-- Microseconds since the process started (for measuring, not in the
-- original framework).
M.monotonic_us = c.monotonic_us

function M.sleep(ms)
	ms = check_ms("time.sleep", ms)
	silly._checkblock("time.sleep")
	pending[timeout(ms) & SLOT] = silly.running()
	suspend("time.sleep", "SLEEP")
end

-- after(ms, fn, ud): checks its arguments, adds the timer and keeps fn
-- (and ud) in the two tables above, all in C.
M.after = c.afterfn(pending, udata)

-- A stale id (fired, cancelled) whose slot now holds another timer fails
-- the core's generation check and changes nothing.
function M.cancel(id)
	if mtype(id) ~= "integer" then
		return
	end
	local k = id & SLOT
	local t = pending[k]
	if t and type(t) ~= "thread" and timercancel(id) then
		pending[k] = nil
		udata[k] = nil
	end
end

return M
