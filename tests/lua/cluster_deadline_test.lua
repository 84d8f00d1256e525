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

local DEADLINE = 8 -- the feature bit (cluster/hello.h)

local function node(extra)
	return cluster.new(T.merge({
		marshal = T.string_marshal,
		unmarshal = T.string_unmarshal,
		call = function() end,
		close = function() end,
	}, extra))
end

local function median(t)
	table.sort(t)
	return t[(#t + 1) // 2]
end

-- How many of `ids` the helper node ran, and its count of requests not
-- started.
local function ran_of(client, fd, ids)
	local ran, expired = 0, 0
	for i = 1, math.max(#ids, 1), 1000 do
		local r = T.ok(client.call(fd, 2, table.concat(ids, " ", i, math.min(i + 999, #ids))))
		local list, n = r:match("^(.*)|(%d+)$")
		for _ in list:gmatch("%S+") do
			ran = ran + 1
		end
		expired = tonumber(n)
	end
	return ran, expired
end

local function budget_in_handlers()
	local seen = {}
	local server = node {heartbeat = 1000, call = function(body)
		seen[body] = cluster.deadline() or false
		return body
	end}
	local addr = tcp.sockname(T.ok(server.listen("127.0.0.1:0")))
	local client = node {heartbeat = 1000}
	local fd = T.ok(client.connect(addr))
	T.ok(cluster.stats().links[fd].features & DEADLINE ~= 0, "both with options: deadlines agreed")
	T.eq(client.call(fd, 1, "call", 2000), "call")
	T.ok(seen.call and seen.call > 1000 and seen.call <= 2000, "a handler sees its budget: " .. tostring(seen.call))
	T.ok(client.send(fd, 1, "send"))
	time.sleep(50)
	T.eq(seen.send, false, "a send has no deadline")
	T.eq(cluster.deadline(), nil, "outside a request, none")
	-- Either end without options, or with deadline = false: the feature is off.
	local plain = node()
	local pfd = T.ok(plain.connect(addr))
	T.eq(cluster.stats().links[pfd].features, 0, "a client without options: the base wire")
	T.eq(plain.call(pfd, 1, "plain", 2000), "plain")
	T.eq(seen.plain, false, "no deadline on the base wire")
	local off = node {heartbeat = 1000, deadline = false}
	local ofd = T.ok(off.connect(addr))
	T.eq(cluster.stats().links[ofd].features & DEADLINE, 0, "deadline = false: not offered")
	T.eq(off.call(ofd, 1, "off", 2000), "off")
	T.eq(seen.off, false)
	T.raises(function() node {deadline = 1} end, "conf.deadline must be a boolean")
	for _, c in ipairs({{client, fd}, {plain, pfd}, {off, ofd}}) do
		c[1].close(c[2])
	end
end

-- A node stopped (SIGSTOP) for 1.5 s while calls with 300 ms timeouts wait
-- on it: after SIGCONT, none of them runs.
local function late_requests_are_not_started(deadline)
	local addr, pid = T.start("helper_ledger_node.lua", "--heartbeat=10000 --deadline=" .. deadline)
	local client = node {heartbeat = 10000, deadline = deadline == "on"}
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
	local stale, expired = ran_of(client, fd, failed)
	print(string.format("deadline %s: %d of 50 timed-out calls ran after SIGCONT; %d not started", deadline,
		stale, expired))
	T.kill(pid, "KILL")
	return stale, expired
end

-- The issue's case: a peer handle with heartbeat, 20 callers with 1 s
-- timeouts, the node stopped for 4 s.
local function stopped_node_behind_a_peer()
	local addr, pid = T.start("helper_ledger_node.lua", "--heartbeat=100")
	local client = node {heartbeat = 100, timeout = 1000}
	local p = client.peer(addr)
	T.eq(client.call(p, 1, "warm"), "warm")
	local stop, stopped_at = false, nil
	local failed, fail_ms, errors, ok = {}, {}, {}, 0
	local first_failure
	local seq = 0
	local running = 0
	for c = 1, 20 do
		running = running + 1
		silly.fork(function()
			while not stop do
				seq = seq + 1
				local id = "c" .. c .. "-" .. seq
				local t0 = time.monotonic()
				local r, err = client.call(p, 1, id)
				if r then
					T.eq(r, id, "no mismatched reply")
					ok = ok + 1
				elseif stopped_at then
					failed[#failed + 1] = id
					first_failure = first_failure or time.monotonic()
					if t0 >= first_failure then
						fail_ms[#fail_ms + 1] = time.monotonic() - t0
					end
					errors[err:match("^[^:]*")] = (errors[err:match("^[^:]*")] or 0) + 1
					time.sleep(10)
				end
			end
			running = running - 1
		end)
	end
	time.sleep(300)
	T.signal(pid, "STOP")
	stopped_at = time.monotonic()
	time.sleep(4000)
	T.signal(pid, "CONT")
	-- Running again: calls succeed once the peer has reconnected.
	local before = ok
	local t0 = time.monotonic()
	while ok == before and time.monotonic() - t0 < 15000 do
		time.sleep(20)
	end
	T.ok(ok > before, "calls are answered again after SIGCONT")
	stop = true
	while running > 0 do
		time.sleep(10)
	end
	local stale, expired = ran_of(client, p, failed)
	local kinds = {}
	for k, n in pairs(errors) do
		kinds[#kinds + 1] = k .. " " .. n
	end
	table.sort(kinds)
	print(string.format("stopped node behind a peer: %d failed calls (%s), %d ran on the node, %d not started;"
		.. " median failed call after the first failure %d ms", #failed, table.concat(kinds, ", "), stale, expired,
		median(fail_ms)))
	T.ge(#failed, 20, "calls failed while the node was stopped")
	T.eq(stale, 0, "no failed call ran on the node")
	T.le(median(fail_ms), 50, "failed calls fail fast once the peer is known to be down")
	T.ok((errors.unreachable or 0) > 0, "and say unreachable")
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
