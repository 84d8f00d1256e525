-- Links that survive real networks (opt-in options of cluster.new): per-call
-- timeouts, liveness, reconnecting peers, large payloads.
local time = require "silly.time"
local cluster = require "silly.net.cluster"
local waitgroup = require "silly.sync.waitgroup"
local tcp = require "silly.net.tcp"
local T = require "testaux"
local silly_errno = require "silly.net.c".errno

-- cmd 2 sleeps the ms in its body, then answers it; anything else echoes.
local function node(extra)
	local conf = {
		marshal = T.string_marshal,
		unmarshal = T.string_unmarshal,
		call = function(body, cmd)
			if cmd == 2 then
				time.sleep(tonumber(body))
			end
			return body
		end,
		close = function() end,
	}
	return cluster.new(T.merge(conf, extra))
end

-- Per-call timeouts: 50 ms and 2000 ms on the same link, independent.
local function per_call_timeouts()
	local server = node()
	local lfd = T.ok(server.listen("127.0.0.1:0"))
	local client = node {timeout = 100}
	local fd = T.ok(client.connect(tcp.sockname(lfd)))
	local wg = waitgroup.new()
	local short_err, short_ms, long_res
	wg:fork(function()
		local t0 = time.monotonic()
		local r, err = client.call(fd, 2, "500", 50)
		short_err, short_ms = err or r, time.monotonic() - t0
	end)
	wg:fork(function()
		long_res = client.call(fd, 2, "300", 2000)
	end)
	wg:wait()
	T.eq(short_err, "timeout", "the 50 ms call timed out")
	T.ge(short_ms, 50, "not before its 50 ms")
	T.le(short_ms, 1000, "long before the other call's deadline")
	T.eq(long_res, "300", "the 2000 ms call outlived the instance's 100 ms timeout")
	local st = cluster.stats().links[fd]
	T.eq(st.timeouts, 1, "the link counts its timeout")
	T.eq(st.pending, 0)
	T.eq(st.addr, tcp.sockname(lfd))
	T.eq(st.features, 0, "no options, no extensions")
	T.ge(st.bytes_out, 2 * (2 + 3 + 16), "two requests went out")
	T.ge(st.bytes_in, 2 + 3 + 4, "a response came in")
	local r, err = client.call(fd, 2, "300")
	T.eq(r, nil)
	T.eq(err, "timeout", "without a fourth argument, the instance's 100 ms")
	T.raises(function() client.call(fd, 1, "x", 0) end, "cluster.call: timeout must be a positive integer")
	T.raises(function() client.call(fd, 1, "x", "fast") end, "cluster.call: timeout must be a positive integer")
	T.raises(function() node {heartbeat = -1} end, "cluster.new: conf.heartbeat must be a positive integer")
	T.raises(function() node {keepalive = 1.5} end, "cluster.new: conf.keepalive must be a positive integer")
	client.close(fd)
	server.close(lfd)
end

-- Waits for `n` calls forked on fd, each with a 30 s timeout; returns
-- the results and a function that waits for them all.
local function pending_calls(client, fd, n)
	local wg = waitgroup.new()
	local results = {}
	for i = 1, n do
		wg:fork(function()
			local r, err = client.call(fd, 1, "call " .. i, 30000)
			results[i] = err or r
		end)
	end
	return results, function() wg:wait() end
end

local function count(results, what)
	local n = 0
	for _, r in pairs(results) do
		if r == what then
			n = n + 1
		end
	end
	return n
end

-- A peer stopped with SIGSTOP while 100 calls wait on it: the link is
-- closed after 3 heartbeats of silence, every call returns "closed", and
-- the close callback says ETIMEDOUT; after SIGCONT both sides work again.
local function stopped_peer()
	local hb = 100
	local addr, pid = T.start("helper_cluster_server.lua", "--delay=60000 --heartbeat=" .. hb)
	local closes = {}
	local client = node {heartbeat = hb, close = function(fd, errno) closes[#closes + 1] = {fd, errno} end}
	local fd = T.ok(client.connect(addr))
	local results, wait = pending_calls(client, fd, 100)
	-- Quiet (the answers take 60 s): the link is pinged, the pings are
	-- answered, and the link stays. Waited for, not timed: a loaded machine
	-- may fire the first heartbeats late.
	local st
	for _ = 1, 100 do
		time.sleep(hb)
		st = cluster.stats().links[fd]
		if not st or st.pings_sent >= 2 then
			break
		end
	end
	T.eq(client.__fdaddr[fd], addr, "a live peer that is slow to answer keeps its link")
	T.eq(st.pending, 100)
	T.eq(st.features & 1, 1, "both ends agreed to heartbeats")
	T.ge(st.pings_sent, 1, "an idle link was pinged")
	T.eq(st.pings_missed, 0, "and the pings were answered")
	T.kill(pid, "STOP")
	-- The silence began at the last pong, before the stop.
	local silent = cluster.stats().links[fd].idle_ms
	local t0 = time.monotonic()
	wait()
	local took = time.monotonic() - t0
	T.kill(pid, "CONT")
	print(string.format("100 calls on a stopped peer failed %d ms after SIGSTOP (heartbeat %d ms)", took, hb))
	T.eq(count(results, "closed"), 100, "every pending call returned 'closed'")
	T.le(took, 10 * (4 * hb), "within 3 heartbeats and an interval, with room for a loaded machine")
	T.ge(took + silent + 1, 3 * hb, "not before the silence was three heartbeats long")
	time.sleep(10)
	T.eq(#closes, 1)
	T.eq(closes[1][2], silly_errno.ETIMEDOUT, "the close callback got ETIMEDOUT")
	T.eq(cluster.stats().pending, 0)
	-- The resumed peer still serves; the old link is gone on both sides.
	local fd2 = T.ok(client.connect(addr))
	local quick = node {heartbeat = hb}
	local fd3 = T.ok(quick.connect(addr))
	T.ok(fd2 and fd3)
	client.close(fd2)
	quick.close(fd3)
	T.kill(pid, "KILL")
end

-- A peer that accepts and never answers anything: detected the same way.
local function silent_peer()
	local hb = 50
	local lfd = T.ok(tcp.listen("127.0.0.1:0", function(fd)
		time.sleep(5000) -- reads nothing, says nothing
		tcp.close(fd)
	end))
	local closes = {}
	local client = node {heartbeat = hb, close = function(_, errno) closes[#closes + 1] = errno end}
	local fd = T.ok(client.connect(tcp.sockname(lfd)))
	local t0 = time.monotonic()
	local results, wait = pending_calls(client, fd, 5)
	wait()
	local took = time.monotonic() - t0
	T.eq(count(results, "closed"), 5, "calls on a silent peer returned 'closed'")
	T.le(took, 10 * (4 * hb), "long before their 30 s timeout")
	time.sleep(10)
	T.eq(closes[1], silly_errno.ETIMEDOUT)
	tcp.close(lfd)
end

-- A listener with every option on still serves a peer that speaks the
-- base wire (no hello): byte-for-byte base answers, never pinged, nor
-- closed for being quiet.
local function base_peer_on_extended_listener()
	local hb = 30
	local server = node {heartbeat = hb, keepalive = 60, maxpayload = 1 << 20}
	local lfd = T.ok(server.listen("127.0.0.1:0"))
	local fd = T.ok(tcp.connect(tcp.sockname(lfd)))
	local function request(session, body)
		local frame = string.pack("<c" .. #body .. "I8I4I4", body, 0, 1, session)
		T.ok(tcp.write(fd, string.pack(">I2", #frame) .. frame))
		local len = string.unpack(">I2", T.ok(tcp.read(fd, 2)))
		local resp = T.ok(tcp.read(fd, len))
		T.eq(resp, body .. string.pack("<I4", session | 0x80000000), "a base response, byte for byte")
	end
	request(7, "first")
	time.sleep(5 * hb) -- quiet for longer than three heartbeats
	request(8, "second")
	T.eq(tcp.recvsize(fd), 0, "no ping or other frame was sent to it")
	tcp.close(fd)
	server.close(lfd)
end

-- An extended caller and a listener with no options: the hello is answered
-- with an ack that accepts nothing, and calls work on the base wire.
local function extended_caller_base_listener()
	local server = node()
	local lfd = T.ok(server.listen("127.0.0.1:0"))
	local client = node {heartbeat = 30}
	local fd = T.ok(client.connect(tcp.sockname(lfd)))
	time.sleep(200) -- idle for several heartbeats: not closed
	T.eq(client.call(fd, 1, "still here"), "still here")
	client.close(fd)
	server.close(lfd)
end

-- Payloads beyond one frame, where both ends set maxpayload.
local function large_payloads()
	local big = 32 << 20
	local server_closes = {}
	local server = node {maxpayload = big, close = function(_, errno) server_closes[#server_closes + 1] = errno end}
	local lfd = T.ok(server.listen("127.0.0.1:0"))
	local addr = tcp.sockname(lfd)
	local client = node {maxpayload = big, timeout = 20000}
	local fd = T.ok(client.connect(addr))
	for _, size in ipairs({64 << 10, 1 << 20, 16 << 20}) do
		local body = string.rep("0123456789abcdef", size // 16 - 1) .. string.format("%016d", size)
		local r, err = client.call(fd, 1, body)
		T.ok(r, err)
		T.eq(#r, size, size .. " bytes came back")
		T.ok(r == body, size .. " bytes came back byte for byte")
	end
	-- A small call made while 16 MiB is on its way finishes first.
	local order = {}
	local wg = waitgroup.new()
	local body = string.rep("x", 16 << 20)
	wg:fork(function()
		local r = client.call(fd, 1, body)
		order[#order + 1] = r == body and "big" or "big failed"
	end)
	wg:fork(function()
		local r = client.call(fd, 1, "small")
		order[#order + 1] = r == "small" and "small" or "small failed"
	end)
	wg:wait()
	T.eq(table.concat(order, ","), "small,big", "the small call did not wait for the big one")
	-- Over a limit: the peer's, or towards a peer that agreed to nothing.
	local small_server = node {maxpayload = 1 << 20}
	local sfd = T.ok(small_server.listen("127.0.0.1:0"))
	local fd2 = T.ok(client.connect(tcp.sockname(sfd)))
	local r, err = client.call(fd2, 1, string.rep("y", 2 << 20))
	T.eq(r, nil)
	T.eq(err, "payload too large: 2097152 bytes (at most 1048576)", "the peer's own limit")
	T.eq(client.call(fd2, 1, string.rep("y", 1 << 20)), string.rep("y", 1 << 20))
	local base = node()
	local bfd = T.ok(base.listen("127.0.0.1:0"))
	local fd3 = T.ok(client.connect(tcp.sockname(bfd)))
	r, err = client.call(fd3, 1, string.rep("z", 70000))
	T.eq(r, nil)
	T.eq(err, "payload too large: 70000 bytes (at most 65519)", "a base peer takes one frame")
	T.eq(#server_closes, 0)
	client.close(fd)
	client.close(fd2)
	client.close(fd3)
	server.close(lfd)
	small_server.close(sfd)
	base.close(bfd)
end

-- A peer that lies about sizes is closed with EMSGSIZE; nothing grows.
local function lying_peer()
	local closes = {}
	local server = node {maxpayload = 1 << 20, close = function(_, errno) closes[#closes + 1] = errno end}
	local lfd = T.ok(server.listen("127.0.0.1:0"))
	local function frame(session, cmd, trace, body)
		local f = string.pack("<c" .. #body .. "I8I4I4", body, trace, cmd, session)
		return string.pack(">I2", #f) .. f
	end
	local function agreed_link()
		local fd = T.ok(tcp.connect(tcp.sockname(lfd)))
		local hello = "\xffSILLY" .. string.pack("<I1I4I4", 1, 2, 1 << 20)
		T.ok(tcp.write(fd, frame(99, 0xfffffff0, 0, hello)))
		local len = string.unpack(">I2", T.ok(tcp.read(fd, 2)))
		local ack = T.ok(tcp.read(fd, len))
		local features = string.unpack("<I4", ack, 8)
		T.eq(features, 2, "the listener agreed to large payloads")
		return fd
	end
	local first, last = 1, 2
	-- Announces 100 MiB, over the listener's 1 MiB.
	local fd = agreed_link()
	local header = string.pack("<I4I4I8", 100 << 20, 1, 0)
	tcp.write(fd, frame(5, 0xfffffff3, first, header .. string.rep("a", 1000)))
	T.eq(tcp.read(fd, 1), nil, "the link was closed")
	-- Announces 1000 bytes, then sends more.
	fd = agreed_link()
	header = string.pack("<I4I4I8", 1000, 1, 0)
	tcp.write(fd, frame(6, 0xfffffff3, first, header .. string.rep("b", 900)))
	tcp.write(fd, frame(6, 0xfffffff3, last, string.rep("b", 900)))
	T.eq(tcp.read(fd, 1), nil, "the link was closed")
	time.sleep(10)
	T.eq(closes[1], silly_errno.EMSGSIZE)
	T.eq(closes[2], silly_errno.EMSGSIZE)
	server.close(lfd)
end

-- Calls through peer p until one is answered (at most ms): each that
-- fails must fail at once, "unreachable: ..." (or "timeout" for one that
-- waited on a connect under way). Returns the answer and the failures.
local function call_until_up(client, p, body, ms)
	local t0 = time.monotonic()
	local failures = 0
	while time.monotonic() - t0 < ms do
		local t1 = time.monotonic()
		local r, err = client.call(p, 1, body, 2000)
		if r then
			return r, failures
		end
		failures = failures + 1
		T.ok(err:match("^unreachable: ") or err == "timeout", "a call while the peer is down: " .. tostring(err))
		if err ~= "timeout" then
			T.le(time.monotonic() - t1, 500, "fails at once while the peer is known to be down")
		end
		time.sleep(20)
	end
	return nil, failures
end

-- A peer handle through a restart of its node: calls fail at once while
-- it is known to be down, then work again with no action from the script.
local function restarting_peer()
	local port = T.port()
	local addr = "127.0.0.1:" .. port
	local closes = {}
	local client = node {timeout = 2000, close = function(fd, errno) closes[#closes + 1] = {fd, errno} end}
	local p = client.peer(addr)
	-- First use with nobody there: the connect error, at once.
	local r, err = client.call(p, 1, "anyone?", 2000)
	T.eq(r, nil)
	T.eq(err, "unreachable: Connection refused", "the connect error reaches the call")
	local t0 = time.monotonic()
	r, err = client.call(p, 1, "again?", 2000)
	T.eq(r, nil)
	T.eq(err, "unreachable: Connection refused", "and the next call fails at once")
	T.le(time.monotonic() - t0, 500)
	local _, pid = T.start("helper_cluster_server.lua", "--port=" .. port)
	-- The reconnect task is in its backoff; calls fail at once until it connects.
	T.eq(call_until_up(client, p, "hello", 10000), "hello", "connects on its own once the node is there")
	local fd = p.fd
	T.eq(client.__fdaddr[fd], addr)
	T.kill(pid, "KILL")
	time.sleep(50)
	-- (A reconnect may land in the dying node's backlog and be reset too.)
	local heard = false
	for _, c in ipairs(closes) do
		heard = heard or c[1] == fd
	end
	T.ok(heard, "the close callback still hears of the peer's fd")
	-- Down: a short call gives up with "timeout" or the connect error.
	r, err = client.call(p, 1, "down", 50)
	T.eq(r, nil)
	T.ok(err == "timeout" or err == "unreachable: Connection refused", "a call while down: " .. tostring(err))
	local _, pid2 = T.start("helper_cluster_server.lua", "--port=" .. port)
	t0 = time.monotonic()
	T.eq(call_until_up(client, p, "back", 15000), "back", "works again after the restart")
	local took = time.monotonic() - t0
	print(string.format("peer reconnected %d ms after its node came back", took))
	T.le(took, 10 * 1000, "within the 5 s backoff cap and a margin")
	-- One, or two if a reconnect first reached the dying node's backlog.
	T.ge(p.reconnects, 1)
	T.le(p.reconnects, 2)
	T.eq(cluster.stats().links[p.fd].reconnects, p.reconnects, "stats count the reconnects")
	T.ok(p.fd ~= fd, "over a new link")
	-- send and close take the peer too; closed is for good.
	T.ok(client.send(p, 1, "one way"))
	T.ok(client.close(p))
	time.sleep(20)
	T.eq(client.__fdaddr[fd], nil)
	r, err = client.call(p, 1, "after close")
	T.eq(r, nil)
	T.eq(err, "closed", "a closed peer stays closed")
	time.sleep(300)
	T.eq(p.running, false, "no reconnect after close")
	local other = node()
	T.raises(function() other.call(p, 1, "x") end, "cluster.call: the peer belongs to another instance")
	T.kill(pid2, "KILL")
end

T.run(function()
	per_call_timeouts()
	stopped_peer()
	silent_peer()
	base_peer_on_extended_listener()
	extended_caller_base_listener()
	large_payloads()
	lying_peer()
	restarting_peer()
end)
