-- Many sleeping tasks: --tasks=N tasks each sleep a random 100-1000 ms in a
-- loop; for --seconds after a warm-up, how late each wake-up came (µs after
-- its due time) goes into a histogram of 100 µs buckets made beforehand, so
-- that measuring allocates nothing. Then the cost of time.after from Lua:
-- --after timers made one after another (due in a minute, never fired), ns
-- each. Prints "lateness_p50_us=.. lateness_p99_us=.. lateness_max_us=..
-- wakeups=.. after_ns=..". Runs unchanged on the original framework (give
-- it bench/cluster/usclock.c for a µs clock).
local silly = require "silly"
local time = require "silly.time"
local env = require "silly.env"

local tasks = tonumber(env.get("tasks") or 100000)
local seconds = tonumber(env.get("seconds") or 5)
local afters = tonumber(env.get("after") or 1000000)
local now = time.monotonic_us or require("usclock").now

local BUCKET_US, BUCKETS = 100, 10000 -- up to a second; later ones in the last
local hist = {}
for i = 1, BUCKETS do
	hist[i] = 0
end
local recording, worst = false, 0
local random = math.random
for _ = 1, tasks do
	silly.fork(function()
		while true do
			local ms = random(100, 1000)
			local due = now() + ms * 1000
			time.sleep(ms)
			if recording then
				local late = now() - due
				if late > worst then
					worst = late
				end
				local b = late // BUCKET_US + 1
				if b > BUCKETS then
					b = BUCKETS
				elseif b < 1 then
					b = 1
				end
				hist[b] = hist[b] + 1
			end
		end
	end)
end

local function percentile(total, p)
	local want, seen = total * p, 0
	for i = 1, BUCKETS do
		seen = seen + hist[i]
		if seen >= want then
			return i * BUCKET_US
		end
	end
end

local function after_cost()
	local function fn() end
	local t0 = now()
	for _ = 1, afters do
		time.after(60000, fn)
	end
	return (now() - t0) * 1000 / afters
end

silly.fork(function()
	time.sleep(2000) -- every task in its loop
	recording = true
	time.sleep(seconds * 1000)
	recording = false
	local total = 0
	for i = 1, BUCKETS do
		total = total + hist[i]
	end
	local ns = after_cost()
	print(string.format("lateness_p50_us=%d lateness_p99_us=%d lateness_max_us=%d wakeups=%d after_ns=%.0f",
		percentile(total, 0.5), percentile(total, 0.99), worst, total, ns))
	io.stdout:flush()
	os.exit(0)
end)
