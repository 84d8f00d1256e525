-- Discovery timings with a real etcd (Debian's etcd-server), from the
-- watchers' side:
--   (a) a member killed with SIGKILL: time until every one of W watchers
--       (each its own etcd client and watch stream) saw it leave, against
--       its lease TTL, the baseline;
--   (b) a member stopped cleanly (SIGTERM revokes its lease): the same;
--   (c) a new member: time from the watcher seeing it join to the first
--       call it answers, while a caller keeps calling svc://; baseline: a
--       connect and a first call to a member's known address.
-- Uses the tests' helpers (tests/lua: etcdaux.lua, helper_svc_node.lua).
--   bazel build -c opt //:silly
--   bazel-bin/silly bench/cluster/discovery_bench.lua --lualib_path='tests/lua/?.lua' \
--     --test.silly=$PWD/bazel-bin/silly --test.dir=$PWD/tests/lua [--rounds=5]
local silly = require "silly"
local time = require "silly.time"
local env = require "silly.env"
local cluster = require "silly.net.cluster"
local etcd = require "silly.store.etcd"
local discovery = require "silly.net.cluster.discovery"
local T = require "testaux"
local E = require "etcdaux"

local ROUNDS = tonumber(env.get("rounds") or 5) // 1
local WATCHERS = 4

local function median(t)
	table.sort(t)
	return t[(#t + 1) // 2]
end

local function wait_until(cond)
	while not cond() do
		time.sleep(1)
	end
end

-- W registries watching `service`; seen[i][addr] = the ms of its leave.
local function watchers(server, service)
	local list = {}
	for i = 1, WATCHERS do
		local reg = discovery.new {etcd = etcd.new {endpoints = {server.endpoint}}, ttl = 10}
		local w = {reg = reg, joined = {}, left = {}}
		reg:watch(service, function(what, m)
			if what == "join" then
				w.joined[m.addr] = time.monotonic_us()
			elseif what == "leave" then
				w.left[m.addr] = time.monotonic_us()
			end
		end)
		list[i] = w
	end
	return list
end

local function start_node(server, service, ttl)
	return T.start("helper_svc_node.lua", string.format("--etcd=%s --service=%s --ttl=%d", server.endpoint,
		service, ttl))
end

-- ms from the signal until the last watcher saw the leave.
local function leave_time(server, ws, service, ttl, sig)
	local addr, pid = start_node(server, service, ttl)
	wait_until(function()
		for _, w in ipairs(ws) do
			if not w.joined[addr] then
				return false
			end
		end
		return true
	end)
	time.sleep(math.random(0, ttl * 1000 // 3)) -- any point of the keepalive period
	local t0 = time.monotonic_us()
	T.kill(pid, sig)
	local worst = 0
	for _, w in ipairs(ws) do
		wait_until(function() return w.left[addr] end)
		worst = math.max(worst, w.left[addr] - t0)
	end
	return worst / 1000
end

T.run(function()
	local server = E.new("bench-etcd")
	print(string.format("discovery benchmarks: %d rounds, %d watchers, etcd %s", ROUNDS, WATCHERS, server.endpoint))
	for _, ttl in ipairs({2, 5}) do
		local ws = watchers(server, "kill" .. ttl)
		local kill = {}
		for r = 1, ROUNDS do
			kill[r] = leave_time(server, ws, "kill" .. ttl, ttl, "KILL")
		end
		local m = median(kill)
		print(string.format("  (a) SIGKILL -> gone from all watchers, TTL %d s: median %.0f ms (min %.0f, max %.0f) " ..
			"| ratio to TTL %.2f", ttl, m, kill[1], kill[#kill], m / (ttl * 1000)))
	end
	local ws = watchers(server, "stop")
	local stop = {}
	for r = 1, ROUNDS do
		stop[r] = leave_time(server, ws, "stop", 60, "TERM")
	end
	local m = median(stop)
	print(string.format("  (b) SIGTERM -> gone from all watchers, TTL 60 s: median %.1f ms | ratio to TTL %.4f", m,
		m / 60000))

	-- (c) a caller keeps calling round robin; a third member starts.
	local reg = ws[1].reg
	local inst = cluster.new {marshal = T.string_marshal, unmarshal = T.string_unmarshal, call = print,
		close = function() end}
	local svc = inst.peer("svc://fresh", {registry = reg})
	start_node(server, "fresh", 10)
	start_node(server, "fresh", 10)
	wait_until(function() return #svc:members() == 2 end)
	local seen_join = {}
	reg:watch("fresh", function(what, member)
		if what == "join" then
			seen_join[member.addr] = seen_join[member.addr] or time.monotonic_us()
		end
	end)
	local stop_calls = false
	local got = {}
	silly.fork(function()
		while not stop_calls do
			local r = inst.call(svc, 1, "x")
			local who = r and r:match("^(%S+)")
			if who and not got[who] then
				got[who] = time.monotonic_us()
			end
		end
	end)
	local join_to_call, baseline = {}, {}
	for r = 1, ROUNDS do
		local addr, pid = start_node(server, "fresh", 10)
		wait_until(function() return got[addr] end)
		join_to_call[r] = (got[addr] - seen_join[addr]) / 1000
		-- Baseline: a fresh instance connects to the known address and calls.
		local direct = cluster.new {marshal = T.string_marshal, unmarshal = T.string_unmarshal, call = print,
			close = function() end}
		local t0 = time.monotonic_us()
		local fd = assert(direct.connect(addr))
		assert(direct.call(fd, 1, "x"))
		baseline[r] = (time.monotonic_us() - t0) / 1000
		direct.close(fd)
		T.kill(pid, "TERM")
		wait_until(function() return #svc:members() == 2 end)
	end
	stop_calls = true
	local jc, b = median(join_to_call), median(baseline)
	print(string.format("  (c) join seen -> first call answered: median %.2f ms | connect + first call to a known " ..
		"address %.2f ms | ratio %.2f", jc, b, jc / b))
end, 600000)
