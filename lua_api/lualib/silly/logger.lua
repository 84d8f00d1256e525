-- silly.logger: leveled log lines on stdout.
local silly = require "silly"
local c = require "silly.logger.c"

local write = c.write
local writef = c.writef
local trace = silly._tracecurrent

local M = {DEBUG = 0, INFO = 1, WARN = 2, ERROR = 3}

local names = {"debug", "info", "warn", "error"}
local writers = {
	debug = function(...) write(0, trace(), ...) end,
	info = function(...) write(1, trace(), ...) end,
	warn = function(...) write(2, trace(), ...) end,
	error = function(...) write(3, trace(), ...) end,
	debugf = function(fmt, ...) writef(0, trace(), fmt, ...) end,
	infof = function(fmt, ...) writef(1, trace(), fmt, ...) end,
	warnf = function(fmt, ...) writef(2, trace(), fmt, ...) end,
	errorf = function(fmt, ...) writef(3, trace(), fmt, ...) end,
}
local function nop() end

local level = 1

function M.getlevel()
	return level
end

function M.setlevel(lv)
	if math.type(lv) ~= "integer" then
		error("logger.setlevel: integer level expected, got " .. type(lv), 2)
	end
	if lv >= 0 and lv <= 3 then
		level = lv
	end
	-- Hidden levels become no-ops so that their calls cost nothing.
	for i, name in ipairs(names) do
		local on = (i - 1) >= lv
		M[name] = on and writers[name] or nop
		M[name .. "f"] = on and writers[name .. "f"] or nop
	end
end

local start = require "silly.c".loglevel()
local by_name = {debug = 0, info = 1, warn = 2, error = 3}
if by_name[start] then
	M.setlevel(by_name[start])
else
	M.setlevel(1)
	M.error("[logger] unknown log level:", start)
end

return M
