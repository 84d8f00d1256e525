-- silly.hive: what one call costs (spawned worker, trivial function,
-- sequential invoke) and how many calls a second go through N workers in
-- parallel, each call doing ~50 µs of Lua work (and how many of those
-- failed). Runs unchanged on the
-- original framework (bench/hive/run.sh gives it bench/cluster/usclock.c
-- for a µs clock). Prints key=value.
local silly = require "silly"
local env = require "silly.env"
local time = require "silly.time"
local hive = require "silly.hive"
local waitgroup = require "silly.sync.waitgroup"
local now = time.monotonic_us or require("usclock").now

local secs = tonumber(env.get("seconds") or "2")
local workers = tonumber(env.get("workers") or "4")

-- In a task of its own: the original runs its main chunk outside one.
silly.fork(function()
	local echo = hive.spawn("return function(a) return a end")
	for _ = 1, 100 do
		hive.invoke(echo, 1)
	end
	local n, start = 0, now()
	while now() - start < secs * 1e6 do
		hive.invoke(echo, n)
		n = n + 1
	end
	local seq_us = (now() - start) / n
	print(string.format("invoke_us=%.1f", seq_us))

	local work = [[
		return function(k)
			local h = 0
			for i = 1, 5000 do h = (h * 31 + i + k) & 0xffffff end
			return h
		end
	]]
	-- The same function inline on the loop: one core's ceiling.
	local fn = load(work)()
	local inline = 0
	start = now()
	while now() - start < secs * 1e6 do
		fn(inline)
		inline = inline + 1
	end
	local inline_s = inline * 1e6 / (now() - start)
	local done, failed = 0, 0
	local stop = now() + secs * 1e6
	local wg = waitgroup.new()
	start = now()
	for i = 1, workers do
		local w = hive.spawn(work)
		wg:fork(function()
			while now() < stop do
				if pcall(hive.invoke, w, i) then
					done = done + 1
				else
					failed = failed + 1
				end
			end
		end)
	end
	wg:wait()
	local par = done * 1e6 / (now() - start)
	print(string.format("parallel_calls_s=%.0f inline_calls_s=%.0f ratio=%.2f failed=%d workers=%d", par, inline_s,
		par / inline_s, failed, workers))
	silly.exit(0)
end)
