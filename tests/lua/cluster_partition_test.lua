-- A node cut off by the network (iptables DROP of its port, both ways,
-- inside the test's own network namespace: tests/lua/run_in_netns.sh)
-- while 20 callers keep calling it through a peer handle, and then
-- reachable again: no reply lost, duplicated or mismatched, no failed call
-- run on the node after the heal, and calls answered again.
--   1. heartbeat 100 ms, 1 s timeouts, 3 s blackhole: the link is found
--      dead, the handle fails fast, the stale requests never run.
--   2. no heartbeat (large payloads on, so deadlines are agreed), 1 s
--      timeouts, 3 s blackhole: the calls time out; after the heal TCP
--      delivers the held requests, whose deadlines have passed: none runs.
local time = require "silly.time"
local cluster = require "silly.net.cluster"
local T = require "testaux"
local callers = require "fault_callers"

local function iptables(action, port)
	for _, dir in ipairs({"--dport", "--sport"}) do
		local cmd = string.format("iptables %s INPUT -p tcp %s %d -j DROP", action, dir, port)
		T.ok(os.execute(cmd), cmd)
	end
end

local function node(extra)
	return cluster.new(T.merge({
		marshal = T.string_marshal,
		unmarshal = T.string_unmarshal,
		call = function() end,
		close = function() end,
	}, extra))
end

local function blackhole(name, helper_args, options)
	local addr, pid = T.start("helper_ledger_node.lua", helper_args)
	local port = tonumber(addr:match(":(%d+)$"))
	local client = node(options)
	local p = client.peer(addr)
	T.eq(client.call(p, 1, "warm"), "warm")
	local r = callers.run {client = client, target = p, callers = 20, fault_ms = 3000,
		fault = function() iptables("-A", port) end, heal = function() iptables("-D", port) end}
	T.ok(r.recovered, name .. ": calls are answered again after the heal")
	-- What TCP still held for the old link arrives now; give it a moment.
	time.sleep(1500)
	local stale, expired = callers.ran_of(client, p, r.failed)
	print(string.format("%s: %d answered, %d failed (%s), %d of them ran on the node, %d not started there;"
		.. " median failed call after the first failure %d ms; answered again %d ms after the heal",
		name, r.answered, #r.failed, r.error_text, stale, expired, r.median_fail_ms, r.recover_ms))
	T.ge(#r.failed, 20, name .. ": calls failed during the blackhole")
	T.eq(stale, 0, name .. ": no failed call ran on the node")
	client.close(p)
	T.kill(pid, "KILL")
	return r
end

T.run(function()
	local r = blackhole("heartbeat", "--heartbeat=100", {heartbeat = 100, timeout = 1000})
	T.le(r.median_fail_ms, 50, "with heartbeat, failed calls fail fast")
	T.ok((r.errors.unreachable or 0) > 0, "and say unreachable")
	blackhole("no heartbeat", "--maxpayload=1048576", {maxpayload = 1 << 20, timeout = 1000})
end, 120000)
