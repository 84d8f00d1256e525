-- Redis load for bench/redis/run.sh, on the API silly.store.redis shares
-- with the original framework (both runtimes run this script): `tasks`
-- tasks each making SET then GET calls for `seconds` (concurrent calls are
-- what gets pipelined), or, with --batch=N, each sending N-command
-- pipelines. Prints key=value.
local silly = require "silly"
local env = require "silly.env"
local time = require "silly.time"
local redis = require "silly.store.redis"
local waitgroup = require "silly.sync.waitgroup"
local now = time.monotonic_us or require("usclock").now

local addr = env.get("addr") or "127.0.0.1:6379"
local tasks = tonumber(env.get("tasks") or "50")
local secs = tonumber(env.get("seconds") or "5")
local batch = tonumber(env.get("batch") or "0")

silly.fork(function()
	local db = redis.new {addr = addr, db = 9}
	assert(db:ping())
	local ops, failed = 0, 0
	local stop = now() + secs * 1000000
	local wg = waitgroup.new()
	for t = 1, tasks do
		wg:fork(function()
			local key = "bench:" .. t
			local reqs = {}
			for i = 1, batch do
				reqs[i] = i % 2 == 1 and {"set", key, "value"} or {"get", key}
			end
			while now() < stop do
				if batch > 0 then
					local ok = db:pipeline(reqs, {})
					if ok then ops = ops + batch else failed = failed + 1 end
				else
					local ok1 = db:set(key, "value")
					local ok2 = db:get(key)
					if ok1 and ok2 then ops = ops + 2 else failed = failed + 1 end
				end
			end
		end)
	end
	wg:wait()
	print(string.format("ops_s=%.0f failed=%d", ops / secs, failed))
	silly.exit(0)
end)
