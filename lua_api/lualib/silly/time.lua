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

-- timer id -> the sleeping task, or {fn, ud} for after()
local pending = {}

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
		spawn(t[1], t[2] or id)
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

function M.after(ms, fn, ud)
	ms = check_ms("time.after", ms)
	if type(fn) ~= "function" then
		error("time.after: function expected, got " .. type(fn), 2)
	end
	local id = timeout(ms)
	pending[id] = {fn, ud}
	return id
end

function M.cancel(id)
	local t = pending[id]
	if t and type(t) ~= "thread" then
		pending[id] = nil
		c.timercancel(id)
	end
end

return M
