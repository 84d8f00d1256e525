-- A node behind a bad network (iptables inside the test's own network
-- namespace: tests/lua/run_in_netns.sh) while 20 callers keep calling it
-- through a peer handle, and then a good one again: no reply lost,
-- duplicated or mismatched, no failed call run on the node, and calls
-- answered again.
--   1. heartbeat 100 ms, 1 s timeouts, 3 s blackhole (DROP both ways): the
--      link is found dead, the handle fails fast, the stale requests never
--      run.
--   2. no heartbeat (large payloads on, so deadlines are agreed), 1 s
--      timeouts, 3 s blackhole: the calls time out; after the heal TCP
--      delivers the held requests, whose deadlines have passed: none runs.
--   3. 5 % of packets lost both ways for 3 s (iptables statistic).
--   4. every packet delayed 20 to 120 ms for 3 s, so also reordered
--      (NFQUEUE to tests/lua/nfq_delay.cc, as the kernel has no netem).
local time = require "silly.time"
local env = require "silly.env"
local T = require "testaux"
local callers = require "fault_callers"

-- Adds (-A) or deletes (-D) `rule` for the port's packets, both ways.
local function iptables(action, port, rule)
	for _, dir in ipairs({"--dport", "--sport"}) do
		local cmd = string.format("iptables %s INPUT -p tcp %s %d %s", action, dir, port, rule)
		T.ok(os.execute(cmd), cmd)
	end
end

local DROP = "-j DROP"
local LOSS = "-m statistic --mode random --probability 0.05 -j DROP"
local QUEUE = "-j NFQUEUE --queue-num 7 --queue-bypass"

-- fault: an iptables rule, and what runs beside it (before, after).
local function scenario(name, helper_args, options, rule, around)
	local addr, pid = T.start("helper_ledger_node.lua", helper_args)
	local port = tonumber(addr:match(":(%d+)$"))
	local client = T.cluster(options)
	local p = client.peer(addr)
	T.eq(client.call(p, 1, "warm"), "warm")
	around = around or {}
	local r = callers.run {client = client, target = p, callers = 20, fault_ms = 3000,
		fault = function()
			if around.before then
				around.before()
			end
			iptables("-A", port, rule)
		end,
		heal = function()
			iptables("-D", port, rule)
		end}
	T.ok(r.recovered, name .. ": calls are answered again after the heal")
	-- What TCP still held for the old link arrives now; give it a moment.
	time.sleep(1500)
	local stale, expired = callers.ran_of(client, p, r.failed)
	print(string.format("%s: %d answered, %d failed (%s), %d of them ran on the node, %d not started there;"
		.. " median failed call after the first failure %d ms, answered call during the fault %d ms;"
		.. " answered again %d ms after the heal", name, r.answered, #r.failed, r.error_text, stale, expired,
		r.median_fail_ms, r.median_ok_ms, r.recover_ms))
	T.eq(stale, 0, name .. ": no failed call ran on the node")
	client.close(p)
	T.kill(pid, "KILL")
	return r
end

local DEADLINED = {"--maxpayload=1048576", {maxpayload = 1 << 20, timeout = 1000}}

T.run(function()
	local r = scenario("blackhole, heartbeat", "--heartbeat=100", {heartbeat = 100, timeout = 1000}, DROP)
	T.ge(#r.failed, 20, "calls failed during the blackhole")
	T.le(r.median_fail_ms, 50, "with heartbeat, failed calls fail fast")
	T.ok((r.errors.unreachable or 0) > 0, "and say unreachable")
	r = scenario("blackhole, no heartbeat", DEADLINED[1], DEADLINED[2], DROP)
	T.ge(#r.failed, 20, "calls timed out during the blackhole")
	r = scenario("5 % loss", DEADLINED[1], DEADLINED[2], LOSS)
	T.ge(r.answered, 1000, "calls go on through the loss")
	-- The delayer holds what iptables queues; it stops by itself.
	local delayer = T.ok(env.get("nfq_delay"), "--nfq_delay names the delayer")
	local out = os.tmpname()
	r = scenario("delay 20-120 ms", DEADLINED[1], DEADLINED[2], QUEUE, {before = function()
		os.execute(string.format("%s 7 20 100 5 >%s 2>&1 &", delayer, out))
		local ready
		for _ = 1, 100 do
			local f = io.open(out)
			ready = f and f:read("l") == "ready"
			if f then
				f:close()
			end
			if ready then
				break
			end
			time.sleep(20)
		end
		T.ok(ready, "the delayer is ready")
	end})
	os.remove(out)
	T.ge(r.answered, 1000, "calls go on through the delay")
	T.ge(r.median_ok_ms, 40, "delayed both ways: at least 2 x 20 ms a call")
end, 150000)
