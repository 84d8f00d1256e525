-- The least Lua a cluster call can run, measured alone: a task switch
-- (resume, then yield for the response), marshal and unmarshal each
-- through pcall, and the response made a string. Nothing of the runtime
-- is used, so any Lua 5.4 runs it: `lua5.4 bench/cluster/lua_floor.lua`.
-- Prints "<ns> ns per call of Lua steps".
local N = 3000000
local resume, yield = coroutine.resume, coroutine.yield
local function marshal(_, cmd, body)
	return cmd, body
end
local function unmarshal(_, _, s)
	return s:sub(1)
end
local msg = "0123456789abcdef"
local task = coroutine.create(function()
	while true do
		local _, _, body = pcall(marshal, "request", 1, msg)
		local response = yield(body)
		pcall(unmarshal, "response", 1, response)
	end
end)
local t0 = os.clock()
for _ = 1, N do
	resume(task, msg)
end
print(string.format("%.0f ns per call of Lua steps", (os.clock() - t0) * 1e9 / N))
