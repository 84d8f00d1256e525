-- For task_budget_test: the main chunk works 400 ms without yielding (it is
-- spared), then a task does the same (stopped unless the budget is 0).
local silly = require "silly"
local time = require "silly.time"

local t0 = time.monotonic()
while time.monotonic() - t0 < 400 do end
print("main chunk ran 400 ms")
silly._on_task_error(function()
	print("task stopped")
	silly.exit(0)
end)
silly.fork(function()
	local t1 = time.monotonic()
	while time.monotonic() - t1 < 400 do end
	print("task finished")
	silly.exit(0)
end)
