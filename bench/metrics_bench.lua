-- The cost of a metric update from Lua, ns per operation, beside a plain
-- table field increment measured in the same run.
--   silly bench/metrics_bench.lua [--n=10000000]
local silly = require "silly"
local env = require "silly.env"
local time = require "silly.time"
local metrics = require "silly.metrics"

local n = tonumber(env.get("n") or 10000000)
local now = time.monotonic_us

local function ns(f)
	f(n // 10) -- warm up
	local t0 = now()
	f(n)
	return (now() - t0) * 1000 / n
end

local plain = {value = 0}
local c = metrics.counter("bench_total", "Bench.")
local lc = metrics.counter("bench_labelled_total", "Bench.", {"peer"})
local child = lc:labels("127.0.0.1:9000")
local h = metrics.histogram("bench_seconds", "Bench.", nil,
	{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})
local hc = h

local results = {
	{"table field += 1 (baseline)", ns(function(k) for _ = 1, k do plain.value = plain.value + 1 end end)},
	{"counter:inc() (no labels)", ns(function(k) for _ = 1, k do c:inc() end end)},
	{"labelled child:inc() (held)", ns(function(k) for _ = 1, k do child:inc() end end)},
	{"counter:labels(peer):inc()", ns(function(k) for _ = 1, k do lc:labels("127.0.0.1:9000"):inc() end end)},
	{"histogram:observe(0.003), 16 buckets", ns(function(k) for _ = 1, k do hc:observe(0.003) end end)},

}
local base = results[1][2]
for _, r in ipairs(results) do
	print(string.format("  %-38s %6.1f ns  (%.1fx the baseline)", r[1], r[2], r[2] / base))
end
silly.exit(0)
