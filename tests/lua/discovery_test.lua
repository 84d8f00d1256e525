-- silly.net.cluster.discovery and svc:// peers, with a real etcd server
-- and node processes that register themselves (helper_svc_node.lua).
local time = require "silly.time"
local cluster = require "silly.net.cluster"
local etcd = require "silly.store.etcd"
local discovery = require "silly.net.cluster.discovery"
local T = require "testaux"
local E = require "etcdaux"

-- Waits (limit_ms, 20 s by default) until cond() holds; the ms it took.
local function eventually(cond, what, limit_ms)
	local t0 = time.monotonic()
	limit_ms = limit_ms or 20000
	while not cond() do
		if time.monotonic() - t0 > limit_ms then
			T.fail(what .. ": not within " .. limit_ms .. " ms")
		end
		time.sleep(10)
	end
	return time.monotonic() - t0
end

-- A node process; its port is below the ephemeral range, so that once it
-- is killed no other test's listener on port 0 is given it while peers
-- still try to reconnect there.
local function node(server, service, ttl, prefix)
	return T.start("helper_svc_node.lua", string.format("--etcd=%s --service=%s --ttl=%d --prefix=%s --port=%d",
		server.endpoint, service, ttl, prefix or "/silly/", T.port()))
end

local function argument_checks(cli, reg)
	T.raises(function() discovery.new() end, "discovery.new: conf table expected")
	T.raises(function() discovery.new {etcd = {}} end, "discovery.new: conf.etcd must be a silly.store.etcd client")
	T.raises(function() discovery.new {etcd = cli, ttl = 1} end, "discovery.new: conf.ttl must be an integer of at least 2")
	T.raises(function() reg:register("a/b", "1.2.3.4:5") end, "discovery.register: service must be")
	T.raises(function() reg:register("a", "") end, "discovery.register: addr must be 'host:port'")
	T.raises(function() reg:register("a", "0.0.0.0:7000") end, "names no machine")
	T.raises(function() reg:register("a", ":7000") end, "names no machine")
	T.raises(function() reg:register("a", "[::]:7000") end, "names no machine")
	T.raises(function() reg:register("a", "1.2.3.4:5", "meta") end, "discovery.register: meta must be a table")
	T.raises(function() reg:watch("a") end, "discovery.watch: function expected")
	T.raises(function() reg:members(nil) end, "discovery.members: service must be")
	local inst = cluster.new {marshal = T.string_marshal, unmarshal = T.string_unmarshal, call = print, close = print}
	T.raises(function() inst.peer("svc://battle") end, "cluster.peer: svc:// needs {registry")
	T.raises(function() inst.peer("svc://", {registry = reg}) end, "needs a service name")
	T.raises(function() inst.peer("svc://b", {registry = reg, key = 1}) end, "cluster.peer: opts.key must be a function")
end

-- Three nodes join; one is killed and leaves within its TTL, one stops
-- cleanly and leaves at once; a watcher sees each change once, in order.
local function membership_checks(server, cli)
	local reg = discovery.new {etcd = cli, prefix = "/silly/", ttl = 5}
	argument_checks(cli, reg)
	T.eq(#T.ok(reg:members("battle")), 0, "no member yet")
	local seen = {}
	local stop = reg:watch("battle", function(what, m)
		seen[#seen + 1] = what .. " " .. m.addr
	end)
	local a, pa = node(server, "battle", 2)
	local b, pb = node(server, "battle", 60)
	local c = node(server, "battle", 60)
	eventually(function() return #seen == 3 end, "three joins")
	T.deepeq(seen, {"join " .. a, "join " .. b, "join " .. c})
	local members = reg:members("battle")
	T.eq(#members, 3)
	table.sort(members, function(x, y) return x.addr < y.addr end)
	for _, m in ipairs(members) do
		T.eq(math.type(m.meta.pid), "integer", "meta keeps its integers")
	end

	-- A late watcher first hears of the members already there.
	local late = {}
	reg:watch("battle", function(what, m)
		late[#late + 1] = what .. " " .. m.addr
	end)
	T.eq(#late, 3, "joins for the members already there")

	T.kill(pa, "KILL")
	local ms = eventually(function() return #seen == 4 end, "the killed node's leave")
	T.eq(seen[4], "leave " .. a)
	T.ge(ms, 500, "a killed node leaves when its lease runs out, not before")
	print(string.format("killed node (TTL 2 s) left after %d ms", ms))

	T.kill(pb, "TERM")
	ms = eventually(function() return #seen == 5 end, "the stopped node's leave")
	T.eq(seen[5], "leave " .. b)
	print(string.format("stopped node (TTL 60 s) left after %d ms", ms))
	T.le(ms, 20000, "a clean stop revokes the lease")
	time.sleep(200)
	T.eq(#seen, 5, "each change once")
	T.eq(#late, 5, "the late watcher saw the same changes")
	T.eq(late[5], "leave " .. b)
	stop()

	-- This process's own registration: its lease revoked behind its back
	-- (as when etcd was out of reach past the TTL) is granted again.
	local mine = discovery.new {etcd = cli, prefix = "/silly/", ttl = 3}
	T.ok(mine:register("battle", "127.0.0.1:1", {zone = 7}))
	eventually(function() return #seen == 5 and #late == 6 end, "the own registration's join")
	T.eq(late[6], "join 127.0.0.1:1")
	T.ok(cli:revoke(mine.lease))
	eventually(function() return #late == 8 end, "leave and join again")
	T.deepeq({late[7], late[8]}, {"leave 127.0.0.1:1", "join 127.0.0.1:1"})
	local m = nil
	for _, x in ipairs(reg:members("battle")) do
		if x.addr == "127.0.0.1:1" then
			m = x
		end
	end
	T.eq(m and m.meta.zone, 7)
	T.ok(mine:deregister("battle", "127.0.0.1:1"))
	eventually(function() return #late == 9 end, "deregistered")
	T.eq(late[9], "leave 127.0.0.1:1")
	T.ok(mine:close())
	reg:close()
	return c
end

local function caller(reg)
	local inst = cluster.new {marshal = T.string_marshal, unmarshal = T.string_unmarshal, call = print,
		close = function() end, timeout = 2000}
	local rr = inst.peer("svc://game", {registry = reg})
	local keyed = inst.peer("svc://game", {registry = reg, key = function(_, player) return player end})
	return inst, rr, keyed
end

local function owner(reply)
	return reply and reply:match("^(%S+)")
end

-- Round robin spreads; keyed calls stay on a member while it lives and
-- move when it dies; a new member starts receiving calls.
local function peer_checks(server, cli)
	local reg = discovery.new {etcd = cli, prefix = "/silly/", ttl = 2}
	local nodes = {}
	for i = 1, 3 do
		local addr, pid = node(server, "game", 2)
		nodes[i] = {addr = addr, pid = pid}
	end
	local inst, rr, keyed = caller(reg)
	eventually(function() return #rr:members() == 3 and #keyed:members() == 3 end, "three members")

	local count = {}
	for _ = 1, 30 do
		local who = owner(T.ok(inst.call(rr, 1, "x")))
		count[who] = (count[who] or 0) + 1
	end
	for _, n in ipairs(nodes) do
		T.eq(count[n.addr], 10, "round robin share of " .. n.addr)
	end

	local home = {}
	for p = 1, 30 do
		local player = "player" .. p
		home[player] = owner(T.ok(inst.call(keyed, 1, player)))
	end
	local homes = {}
	for _, h in pairs(home) do
		homes[h] = true
	end
	T.eq(#(function() local l = {} for h in pairs(homes) do l[#l + 1] = h end return l end)(), 3,
		"30 players spread over the three members")
	for _ = 1, 3 do
		for p = 1, 30 do
			local player = "player" .. p
			T.eq(owner(inst.call(keyed, 1, player)), home[player], "the same member for " .. player)
		end
	end
	T.eq(keyed:pick("player1").addr, home.player1, "pick names the member a key goes to")

	-- Kill player1's member: its players move, the others stay, and no call
	-- fails but those that reached the member as it died: they fail at once
	-- with "closed", never by a timeout. (While a killed process exits, the
	-- kernel may still complete a reconnect to its listener, then reset it:
	-- that can cost a call or two more than the one racing the kill.)
	local victim
	for _, n in ipairs(nodes) do
		if n.addr == home.player1 then
			victim = n
		end
	end
	T.kill(victim.pid, "KILL")
	local failed = 0
	local moved = {}
	for _ = 1, 3 do
		for p = 1, 30 do
			local player = "player" .. p
			local t0 = time.monotonic()
			local r, err = inst.call(keyed, 1, player)
			if not r then
				failed = failed + 1
				T.eq(err, "closed", "a call that raced the kill")
				T.le(time.monotonic() - t0, 1000, "a call to the dying member fails at once (timeout 2000 ms)")
			elseif home[player] == victim.addr then
				T.ok(owner(r) ~= victim.addr, "moved away from the dead member")
				moved[player] = moved[player] or owner(r)
				T.eq(owner(r), moved[player], "the moved player stays on its new member")
			else
				T.eq(owner(r), home[player], "players of live members stay")
			end
		end
	end
	T.le(failed, 3, "calls lost to the kill")
	for _ = 1, 20 do
		T.ok(owner(T.ok(inst.call(rr, 1, "x"))) ~= victim.addr, "round robin passes over the dead member")
	end
	eventually(function() return #rr:members() == 2 end, "the dead member leaves the service")

	-- A new member: the time from its registration to its first call.
	local t0 = time.monotonic()
	local fresh = node(server, "game", 2)
	local first_call
	eventually(function()
		local r = inst.call(rr, 1, "x")
		if owner(r) == fresh then
			first_call = time.monotonic() - t0
			return true
		end
	end, "calls reach the new member")
	print(string.format("a new member got its first call %d ms after it was started", first_call))

	-- A service with no member: the call waits its timeout, then says so.
	local none = inst.peer("svc://nobody", {registry = reg})
	local r, err = inst.call(none, 1, "x", 200)
	T.eq(r, nil)
	T.eq(err, "no member of svc://nobody")
	T.eq(select(2, inst.send(none, 1, "x")), "closed")
	inst.close(none)
	return inst, rr, reg, nodes
end

-- etcd killed and started again: calls never stop, membership stays, and
-- then catches up (a node killed during the outage leaves after it).
local function outage_checks(server, inst, rr, reg)
	local before = rr:members()
	server:stop()
	local t0 = time.monotonic()
	local ok = 0
	while time.monotonic() - t0 < 1500 do
		local r, err = inst.call(rr, 1, "x")
		T.ok(r, "a call while etcd is down: " .. tostring(err))
		ok = ok + 1
	end
	T.deepeq(rr:members(), before, "membership kept through the outage")
	-- A member dies while etcd cannot tell: calls pass over it.
	local dead = before[1]
	local victim_pid
	for _, m in ipairs(reg:members("game")) do
		if m.addr == dead then
			victim_pid = m.meta.pid
		end
	end
	T.kill(victim_pid, "KILL")
	for _ = 1, 20 do
		local r = inst.call(rr, 1, "x")
		if r then
			T.ok(owner(r) ~= dead, "no call to the member that died during the outage")
		end
	end
	server:start()
	local ms = eventually(function() return #rr:members() == #before - 1 end, "membership catches up", 30000)
	print(string.format("after etcd came back, the member killed during the outage left in %d ms", ms))
	for _ = 1, 20 do
		T.ok(inst.call(rr, 1, "x"), "calls after the outage")
	end
	print(string.format("%d calls made while etcd was down, none failed", ok))
end

T.run(function()
	local server = E.new()
	local cli = etcd.new {endpoints = {server.endpoint}}
	membership_checks(server, cli)
	local inst, rr, reg = peer_checks(server, cli)
	outage_checks(server, inst, rr, reg)
end, 180000)
