-- silly.signal: signal(name, handler) runs handler(name) in a new task for
-- each delivery and returns the handler it replaces (SIGINT's default
-- handler, which ends the process with 0, the first time; nil for a signal
-- that had none). A watched signal without a handler ends the process
-- with 0 too.
local silly = require "silly"
local c = require "silly.c"
local logger = require "silly.logger"

local handlers = {}
local watched = {}

c.onsignal(function(signo)
	local name = c.signame(signo) or tostring(signo)
	local h = handlers[name]
	if h then
		silly._spawn(h, name)
	else
		logger.info("[signal] signum:", name, "received")
		silly.exit(0)
	end
end)

local function watch(name)
	if watched[name] then
		return true
	end
	local signo = c.signum(name)
	if not signo then
		return false
	end
	c.watchsignal(signo)
	watched[name] = true
	return true
end

local M = setmetatable({}, {
	__call = function(_, name, handler)
		if type(name) ~= "string" then
			error("signal: signal name expected, got " .. type(name), 2)
		end
		if handler ~= nil and type(handler) ~= "function" then
			error("signal: function expected, got " .. type(handler), 2)
		end
		if not c.signum(name) then
			logger.error("[signal] sig:", name, "not support")
			return nil
		end
		local prev = handlers[name]
		watch(name)
		handlers[name] = handler
		return prev
	end,
})

function M._install_defaults()
	watch("SIGINT")
	watch("SIGTERM")
	-- As on the original framework: SIGINT has a handler of its own, the one
	-- the first signal("SIGINT", f) returns.
	handlers.SIGINT = handlers.SIGINT or function()
		silly.exit(0)
	end
end

return M
