-- Runs one example (--example=FILE) inside a task and exits 0 when it
-- returns, 1 with its traceback when it raises.
local silly = require "silly"
local env = require "silly.env"

local chunk = assert(loadfile(env.get("example")))
silly.fork(function()
	local ok, err = xpcall(chunk, debug.traceback)
	if not ok then
		io.stderr:write(tostring(err), "\n")
		silly.exit(1)
		return
	end
	silly.exit(0)
end)
