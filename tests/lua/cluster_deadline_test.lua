-- Deadlines on links where both ends set options (kFeatureDeadline): a
-- handler reads its caller's budget; a request whose caller has given up
-- (its deadline passed, or its link is already gone) is not started; and
-- a peer handle to a stopped node fails fast without a failed call ever
-- running on the node afterwards.
local silly = require "silly"
local time = require "silly.time"
local tcp = require "silly.net.tcp"
local cluster = require "silly.net.cluster"
local T = require "testaux"
local callers = require "fault_callers"

local DEADLINE = 8 -- the feature bit (cluster/hello.h)

local function budget_in_handlers()
	local seen = {}
	local server = T.cluster {heartbeat = 1000, call = function(body)
		seen[body] = cluster.deadline() or false
		return body
	end}
	local addr = tcp.sockname(T.ok(server.listen("127.0.0.1:0")))
	local client = T.cluster {heartbeat = 1000}
	local fd = T.ok(client.connect(addr))
	T.ok(cluster.stats().links[fd].features & DEADLINE ~= 0, "both with options: deadlines agreed")
	T.eq(client.call(fd, 1, "call", 2000), "call")
	T.ok(seen.call and seen.call > 1000 and seen.call <= 2000, "a handler sees its budget: " .. tostring(seen.call))
	T.ok(client.send(fd, 1, "send"))
	time.sleep(50)
	T.eq(seen.send, false, "a send has no deadline")
	T.eq(cluster.deadline(), nil, "outside a request, none")
	-- Either end without options, or with deadline = false: the feature is off.
	local plain = T.cluster()
	local pfd = T.ok(plain.connect(addr))
	T.eq(cluster.stats().links[pfd].features, 0, "a client without options: the base wire")
	T.eq(plain.call(pfd, 1, "plain", 2000), "plain")
	T.eq(seen.plain, false, "no deadline on the base wire")
	local off = T.cluster {heartbeat = 1000, deadline = false}
	local ofd = T.ok(off.connect(addr))
	T.eq(cluster.stats().links[ofd].features & DEADLINE, 0, "deadline = false: not offered")
	T.eq(off.call(ofd, 1, "off", 2000), "off")
	T.eq(seen.off, false)
	T.raises(function() T.cluster {deadline = 1} end, "conf.deadline must be a boolean")
	for _, c in ipairs({{client, fd}, {plain, pfd}, {off, ofd}}) do
		c[1].close(c[2])
	end
end

-- A node stopped (SIGSTOP) for 1.5 s while calls with 300 ms timeouts wait
-- on it: after SIGCONT, none of them runs.
local function late_requests_are_not_started(deadline)
	local addr, pid = T.start("helper_ledger_node.lua", "--heartbeat=10000 --deadline=" .. deadline)
	local client = T.cluster {heartbeat = 10000, deadline = deadline == "on"}
	local fd = T.ok(client.connect(addr))
	T.eq(client.call(fd, 1, "before"), "before")
	T.signal(pid, "STOP")
	local failed = {}
	local wg = 0
	for i = 1, 50 do
		wg = wg + 1
		silly.fork(function()
			local r, err = client.call(fd, 1, "late" .. i, 300)
			if not r then
				failed[#failed + 1] = "late" .. i
				T.eq(err, "timeout")
			end
			wg = wg - 1
		end)
	end
	time.sleep(1500)
	T.signal(pid, "CONT")
	while wg > 0 do
		time.sleep(10)
	end
	T.eq(#failed, 50, "all timed out while the node was stopped")
	T.eq(client.call(fd, 1, "after", 5000), "after", "the node answers again")
	local stale, expired = callers.ran_of(client, fd, failed)
	print(string.format("deadline %s: %d of 50 timed-out calls ran after SIGCONT; %d not started", deadline,
		stale, expired))
	T.kill(pid, "KILL")
	return stale, expired
end

-- A peer handle with heartbeat, 20 callers with 1 s timeouts, the node
-- stopped for 4 s.
local function stopped_node_behind_a_peer()
	local addr, pid = T.start("helper_ledger_node.lua", "--heartbeat=100")
	local client = T.cluster {heartbeat = 100, timeout = 1000}
	local p = client.peer(addr)
	T.eq(client.call(p, 1, "warm"), "warm")
	local r = callers.run {client = client, target = p, callers = 20, fault_ms = 4000,
		fault = function() T.signal(pid, "STOP") end, heal = function() T.signal(pid, "CONT") end}
	T.ok(r.recovered, "calls are answered again after SIGCONT")
	local stale, expired = callers.ran_of(client, p, r.failed)
	print(string.format("stopped node behind a peer: %d failed calls (%s), %d ran on the node, %d not started;"
		.. " median failed call after the first failure %d ms", #r.failed, r.error_text, stale, expired,
		r.median_fail_ms))
	T.ge(#r.failed, 20, "calls failed while the node was stopped")
	T.eq(stale, 0, "no failed call ran on the node")
	T.le(r.median_fail_ms, 50, "failed calls fail fast once the peer is known to be down")
	T.ok((r.errors.unreachable or 0) > 0, "and say unreachable")
	client.close(p)
	T.kill(pid, "KILL")
end

T.run(function()
	budget_in_handlers()
	local stale, expired = late_requests_are_not_started("on")
	T.eq(stale, 0, "with deadlines, no timed-out call runs late")
	T.ge(expired, 50, "each was counted as not started")
	stale = late_requests_are_not_started("off")
	T.eq(stale, 50, "without them, every one does (what deadlines prevent)")
	stopped_node_behind_a_peer()
end, 90000)
