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

local sleepers = {} -- timer id -> task
local callbacks = {} -- timer id -> function
local userdata = {} -- timer id -> ud given to after()

local function check_ms(fname, ms)
	if mtype(ms) ~= "integer" then
		if type(ms) == "number" and ms == ms // 1 then
			return ms // 1 | 0
		end
		error(fname .. ": integer milliseconds expected, got " .. (mtype(ms) or type(ms)), 3)
	end
	return ms
end

silly._handlers[silly._EV.timer] = function(id)
	local co = sleepers[id]
	if co then
		sleepers[id] = nil
		wake(co)
		return
	end
	local fn = callbacks[id]
	if fn then
		callbacks[id] = nil
		local ud = userdata[id]
		userdata[id] = nil
		spawn(fn, ud or id)
	end
end

M.now = c.now
M.monotonic = c.monotonic
-- Microseconds since the process started (for measuring, not in the
-- original framework).
M.monotonic_us = c.monotonic_us

function M.sleep(ms)
	ms = check_ms("time.sleep", ms)
	silly._checkblock("time.sleep")
	local id = timeout(ms)
	sleepers[id] = silly.running()
	suspend("time.sleep", "SLEEP")
end

function M.after(ms, fn, ud)
	ms = check_ms("time.after", ms)
	if type(fn) ~= "function" then
		error("time.after: function expected, got " .. type(fn), 2)
	end
	local id = timeout(ms)
	callbacks[id] = fn
	userdata[id] = ud
	return id
end

function M.cancel(id)
	if callbacks[id] then
		callbacks[id] = nil
		userdata[id] = nil
		c.timercancel(id)
	end
end

return M
