-- silly.time: clocks and timers with 1 ms resolution.
local silly = require "silly"
local c = require "silly.c"

local mtype = math.type
local error = error
local type = type
local timeout = c.timeout
local suspend = silly._suspend
local wake = silly._wake
local spawn = silly._spawn

local M = {}

-- timer id -> the sleeping task, or after()'s function; its ud, when one
-- was given, in udata (no table per timer: after() is on hot paths).
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
	local t = pending[id]
	if not t then
		return
	end
	pending[id] = nil
	if type(t) == "thread" then
		wake(t)
	else
		local ud = udata[id]
		if ud ~= nil then
			udata[id] = nil
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
	local id = timeout(ms)
	pending[id] = silly.running()
	suspend("time.sleep", "SLEEP")
end

-- after(ms, fn, ud): checks its arguments, adds the timer and keeps fn
-- (and ud) in the two tables above, all in C.
M.after = c.afterfn(pending, udata)

function M.cancel(id)
	local t = pending[id]
	if t and type(t) ~= "thread" then
		pending[id] = nil
		udata[id] = nil
		c.timercancel(id)
	end
end

return M
