-- silly.net.cluster: RPC between nodes over TCP.
--
-- Links, framing and sessions live in C++ (cluster::Link, reached through
-- silly.cluster.c); this module keeps one record per link and listener and
-- the tasks waiting on calls. Payloads are unmarshalled where they arrive,
-- inside on_batch, because the buffer handed to unmarshal points into the
-- link's receive ring.
local silly = require "silly"
local net = require "silly.net"
local cc = require "silly.cluster.c"
local nc = require "silly.net.c"
local tc = require "silly.tls.c"
local logger = require "silly.logger"
local logwriteat = require("silly.logger.c").writeat
local peers = require "silly.net.cluster.peer"
local services = require "silly.net.cluster.service"

local pcall = pcall
local type = type
local error = error
local mtype = math.type
local traceback = debug.traceback
local spawn = silly._spawn
local spawn_traced = silly._spawn_traced
local current = silly._current
local park = silly._park
local resume = silly._resume
local wake = silly._wake
local ctracenew = require "silly.c".tracenew
local tracenew = silly.tracenew
local crequest = cc.request
local cresponse = cc.response
local xpcall = xpcall

local M = {}

-- fd -> {inst = instance, addr = "ip:port", listener = true|nil,
-- waiter = task connecting}, for every open link and listener. A record
-- holds its instance, so an instance with open sockets is never collected.
local links = {}
local waiting = {} -- session -> task

-- Rebuilt at their new size after a wave of closed sockets.
silly._on_wave(function()
	links = silly._compact(links)
	waiting = silly._compact(waiting)
end)

local function link_records()
	return links
end
local instances = 0 -- made so far: an unnamed instance's metrics label
-- cmd number -> the name this process's calls used for it. A response is
-- marshalled with the name when there is one, so that a marshal written
-- as "if cmd == 'add' then cmd = 'sum' end" works on the serving side
-- too (the wire carries only the number).
local cmdnames = {}

-- What a waiting call is resumed with when it fails.
local TIMEOUT, CLOSED = {}, {}

local function first_line(s)
	return (tostring(s):match("^[^\n]*"))
end

-- Unmarshal, handler and marshal of one request, in the request's task.
-- It starts synchronously inside the batch, so ptr is still valid for
-- unmarshal; the handler may then yield as it likes.
local function serve(inst, fd, session, cmd, ptr, size)
	local conf = inst.__event
	local body = conf.unmarshal("request", cmd, ptr, size)
	local res = conf.call(body, cmd, fd)
	if res == nil then
		return -- no response
	end
	local _, data, dsize = conf.marshal("response", cmdnames[cmd] or cmd, res)
	local sent, err = cresponse(fd, session, data, dsize)
	if not sent and err ~= "closed" then
		error(err, 0)
	end
end

------------------------------------------------------------------------
-- Metrics (docs/metrics.md): off, and one boolean test per call, until
-- silly.metrics.collectors hands over its families through _observe.
local observing = false
local fam -- the families, by short name
local chandled = cc.handled
-- Peers beyond this many per instance share the peer label "other", so a
-- node that many hosts call keeps a bounded set of series.
local PEER_LABELS = 64

-- The metric children of one (instance, peer) pair.
local function children_of(inst, peer)
	local per = inst.__metrics
	local m = per[peer]
	if m then
		return m
	end
	if per.__count >= PEER_LABELS then
		peer = "other"
		m = per[peer]
		if m then
			return m
		end
	end
	per.__count = per.__count + 1
	local name = inst.__name
	m = {
		calls = fam.calls:labels(name, peer),
		timeout = fam.failures:labels(name, peer, "timeout"),
		closed = fam.failures:labels(name, peer, "closed"),
		remote = fam.failures:labels(name, peer, "remote"),
		refused = fam.failures:labels(name, peer, "refused"),
		call_seconds = fam.call_seconds:labels(name, peer),
		served = fam.served:labels(name, peer),
		handler_errors = fam.handler_errors:labels(name, peer),
		handler_seconds = fam.handler_seconds:labels(name, peer),
		in_flight = fam.in_flight:labels(name, peer),
		links = fam.links:labels(name, peer),
		bytes_in = fam.bytes_in:labels(name, peer),
		bytes_out = fam.bytes_out:labels(name, peer),
		late = fam.late:labels(name, peer),
	}
	per[peer] = m
	return m
end

-- A link's children: its peer is the address it was connected to, or for
-- an accepted link the peer's host (ports of accepted links change with
-- every connection).
local function link_metrics(rec)
	local m = rec.m
	if not m then
		local peer = rec.addr
		if rec.accepted then
			peer = peer:match("^%[(.*)%]:%d+$") or peer:match("^(.*):%d+$") or peer
		end
		m = children_of(rec.inst, peer)
		rec.m = m
	end
	return m
end

-- What the links count themselves, so that a call costs Lua nothing.
local COUNTED_IN_CXX = {
	bytes_in = "bytes_in", bytes_out = "bytes_out", late = "late", calls = "calls",
	timeout = "timeouts", remote = "remote_errors",
}

-- Adds the growth of a C++ histogram (cc.linktimes) to a metrics child.
local function merge(child, now, before)
	local counts = child.counts
	for i = 1, #counts do
		counts[i] = counts[i] + now[i] - (before and before[i] or 0)
	end
	child.count = child.count + now.count - (before and before.count or 0)
	child.sum = child.sum + (now.sum_us - (before and before.sum_us or 0)) / 1e6
end

-- Adds what the link's C++ counters and histograms gained since they were
-- last read.
local function account(fd, rec)
	local st = cc.linkstats(fd)
	if not st then
		return
	end
	local m = link_metrics(rec)
	local seen = rec.seen
	if not seen then
		seen = {}
		rec.seen = seen
	end
	-- metrics child <- C++ link counter
	for k, from in pairs(COUNTED_IN_CXX) do
		local child = m[k]
		child.value = child.value + st[from] - (seen[from] or 0)
		seen[from] = st[from]
	end
	local calls, handled = cc.linktimes(fd)
	if calls then
		local before = seen.handled_times
		merge(m.call_seconds, calls, seen.call_times)
		merge(m.handler_seconds, handled, before)
		m.served.value = m.served.value + handled.count - (before and before.count or 0)
		seen.call_times, seen.handled_times = calls, handled
	end
	return st
end

function M._observe(families)
	fam = families
	observing = true
	cc.observe()
end

-- The bounds (seconds) of the call and handler histograms, as C++ keeps them.
function M._latency_bounds()
	local b = {}
	for i, us in ipairs(cc.LATENCY_BOUNDS_US) do
		b[i] = us / 1e6
	end
	return b
end

-- Before each scrape: byte and late counters, links and calls in flight.
function M._collect()
	local inflight, open = fam.in_flight.list, fam.links.list
	for i = 1, #inflight do
		inflight[i].value = 0
	end
	for i = 1, #open do
		open[i].value = 0
	end
	for fd, rec in pairs(links) do
		if not rec.listener and not rec.waiter then
			local st = account(fd, rec)
			if st then
				local m = rec.m
				m.in_flight.value = m.in_flight.value + st.pending
				m.links.value = m.links.value + 1
			end
		end
	end
end

-- When the batch being dispatched arrived (µs), for the handler histogram.
local batch_t0 = 0

-- The task of one request: frame i of batch b from link fd. A task takes at
-- most three arguments (see silly.lua's task_entry), so the request's
-- fields are read from the batch here, before anything can yield: the task
-- starts within on_batch, and the table is refilled for the next batch.
local function handle_request(fd, b, i)
	local session, cmd, ptr, size, t0 = b[i + 1], b[i + 2], b[i + 4], b[i + 5], batch_t0
	local inst = links[fd].inst -- on_batch saw the link open just now
	local ok, err = xpcall(serve, traceback, inst, fd, session, cmd, ptr, size)
	if not ok then
		-- Named by the handler's own line, not this one.
		logwriteat(3, silly._tracecurrent(), silly._site(err), "[cluster] request cmd", cmd, "on link", fd, "failed:", err)
		cc.error(fd, session, "handler error: " .. first_line(err))
	end
	if observing then
		chandled(fd, t0) -- one C call: C++ times it and counts it
		local rec = not ok and links[fd]
		if rec then
			local m = link_metrics(rec)
			m.handler_errors.value = m.handler_errors.value + 1
		end
	end
end

local function release(session, why)
	local co = waiting[session]
	if co then
		waiting[session] = nil
		wake(co, why)
	end
end

local function add_link(fd, rec)
	links[fd] = rec
	rec.inst.__fdaddr[fd] = rec.addr
end

-- The one removal of a link or listener: its record goes, its failed
-- calls return "closed", and the instance's close callback hears of a
-- link with a numeric errno (0 for an orderly or local end).
local function drop_link(fd, errno, failed)
	local rec = links[fd]
	if not rec then
		return
	end
	if observing and not rec.listener then
		account(fd, rec) -- the last of its counters (a link still in C++)
		local m = rec.m
		if m then
			m.closed.value = m.closed.value + #failed
		end
	end
	links[fd] = nil
	rec.inst.__fdaddr[fd] = nil
	for i = 1, #failed do
		release(failed[i], CLOSED)
	end
	if not rec.listener then
		spawn(rec.inst.__event.close, fd, errno)
	end
	if rec.peer then
		peers.dropped(rec.peer, rec.inst.close)
	end
end

-- Every frame of one read batch (see silly.cluster.c for the layout).
local function on_batch(fd, n, b, t)
	batch_t0 = t
	for i = 1, n * 6, 6 do
		if b[i] == 1 then -- request: session, cmd, traceid, ptr, size
			if links[fd] then -- a handler earlier in the batch may have closed it
				spawn_traced(b[i + 3], handle_request, fd, b, i)
			end
		else -- response: session, remote error | false, 0, ptr, size
			local session = b[i + 1]
			local co = waiting[session]
			if co then
				waiting[session] = nil
				resume(co, b[i + 4], b[i + 5], b[i + 2])
			end
		end
	end
end

local function on_timeout(session)
	release(session, TIMEOUT)
end

-- The link ended by itself; status is 0 or a negative errno.
local function on_close(fd, status, failed)
	drop_link(fd, -status, failed)
end

local function on_accept(lfd, fd, peer)
	local l = links[lfd]
	if not l then
		cc.close(fd)
		return
	end
	add_link(fd, {inst = l.inst, addr = peer, accepted = true})
	local accept = l.inst.__event.accept
	if accept then
		spawn(accept, fd, peer)
	end
end

local function on_connect(fd, status)
	net._connected(links[fd], status)
end

cc.dispatch(on_batch, on_timeout, on_close, on_accept, on_connect)

--------------------------------------------------------------------------

local function check_fd(fname, fd)
	if mtype(fd) ~= "integer" then
		error(fname .. ": fd (integer) expected, got " .. type(fd), 3)
	end
end

-- A connect's failure in words: a refused secret says so.
local EACCES = nc.errno.EACCES
local function describe_failure(status)
	if status == -EACCES then
		return "authentication failed"
	end
	return nc.strerror(status)
end

local TLS_FIELDS = {cert = true, key = true, ca = true, verify = true, servername = true}

-- conf.tls -> the listening side's context (nil without cert and key) and
-- the connecting side's; a file that cannot be used raises here, named.
local function tls_contexts(t, handshake)
	if type(t) ~= "table" then
		error("cluster.new: conf.tls must be a table, got " .. type(t), 3)
	end
	for k in pairs(t) do
		if not TLS_FIELDS[k] then
			error("cluster.new: unknown conf.tls option '" .. tostring(k) .. "'", 3)
		end
	end
	local server
	if t.cert or t.key then
		server = tc.context({server = true, cert = t.cert, key = t.key, ca = t.ca, verify = t.verify,
			handshake = handshake}, "cluster.new")
	end
	local client = tc.context({cert = t.cert, key = t.key, ca = t.ca, verify = t.verify,
		servername = t.servername, handshake = handshake}, "cluster.new")
	return server, client
end

local function encode(fname, inst, cmd, obj)
	local ok, cmdn, data, size = pcall(inst.__event.marshal, "request", cmd, obj)
	if not ok then
		return nil, "marshal error: " .. first_line(cmdn)
	end
	if mtype(cmdn) ~= "integer" then
		error(fname .. ": marshal must return an integer cmd first, got " ..
			(type(cmdn) == "string" and ("the string '" .. cmdn .. "'") or type(cmdn)), 3)
	end
	if type(data) ~= "string" and type(data) ~= "userdata" then
		error(fname .. ": marshal must return data as a string or lightuserdata and size, got " .. type(data), 3)
	end
	if type(cmd) == "string" then
		cmdnames[cmdn] = cmd
	end
	return cmdn, data, size
end

local function new(conf)
	if type(conf) ~= "table" then
		error("cluster.new: conf table expected, got " .. type(conf), 2)
	end
	for _, k in ipairs({"marshal", "unmarshal", "call", "close"}) do
		if type(conf[k]) ~= "function" then
			error("cluster.new: conf." .. k .. " must be a function, got " .. type(conf[k]), 2)
		end
	end
	if conf.accept ~= nil and type(conf.accept) ~= "function" then
		error("cluster.new: conf.accept must be a function, got " .. type(conf.accept), 2)
	end
	local timeout = conf.timeout or 5000
	if mtype(timeout) ~= "integer" or timeout <= 0 then
		error("cluster.new: conf.timeout must be a positive integer (ms)", 2)
	end
	-- Options beyond the original framework; none set: the base wire.
	for _, k in ipairs({"heartbeat", "keepalive", "maxpayload"}) do
		local v = conf[k]
		if v ~= nil and (mtype(v) ~= "integer" or v <= 0) then
			error("cluster.new: conf." .. k .. " must be a positive integer, got " .. tostring(v), 2)
		end
	end
	local heartbeat, keepalive = conf.heartbeat or 0, conf.keepalive or 0
	local maxpayload = conf.maxpayload or cc.MAX_REQUEST
	if maxpayload > 0x7fffffff then
		error("cluster.new: conf.maxpayload must be at most 2^31 - 1, got " .. maxpayload, 2)
	end
	local secret = conf.secret
	if secret ~= nil and (type(secret) ~= "string" or secret == "") then
		error("cluster.new: conf.secret must be a non-empty string", 2)
	end
	local handshake = conf.handshake or 5000
	if mtype(handshake) ~= "integer" or handshake <= 0 then
		error("cluster.new: conf.handshake must be a positive integer (ms), got " .. tostring(handshake), 2)
	end
	local tls_server, tls_client
	if conf.tls ~= nil then
		tls_server, tls_client = tls_contexts(conf.tls, handshake)
	end

	if conf.name ~= nil and type(conf.name) ~= "string" then
		error("cluster.new: conf.name must be a string, got " .. type(conf.name), 2)
	end
	instances = instances + 1

	-- __fdaddr (fd -> address of each open link and listener) is the
	-- documented view scripts may read; links holds the records. __name
	-- labels the instance's metrics; __metrics holds their children.
	local inst = {__event = conf, __fdaddr = {}, __name = conf.name or tostring(instances),
		__metrics = {__count = 0}}

	function inst.listen(addr, backlog)
		if type(addr) ~= "string" then
			error("cluster.listen: address string expected, got " .. type(addr), 2)
		end
		if tls_client and not tls_server then
			error("cluster.listen: conf.tls needs cert and key to listen", 2)
		end
		local fd, err = cc.listen(addr, backlog or 128, heartbeat, keepalive, maxpayload, secret, handshake, tls_server)
		if not fd then
			return nil, err
		end
		add_link(fd, {inst = inst, addr = addr, listener = true})
		return fd
	end

	-- A link to addr; `peer` is the handle that owns it, if any.
	local function connect(fname, addr, peer)
		if type(addr) ~= "string" then
			error(fname .. ": address string expected, got " .. type(addr), 3)
		end
		silly._checkblock(fname)
		local target, rerr = net._resolve(addr)
		if not target then
			return nil, rerr
		end
		local rec = {inst = inst, addr = addr, peer = peer}
		local fd, err = net._connect(fname, link_records, rec, function()
			return cc.connect(target, timeout, heartbeat, keepalive, maxpayload, secret, handshake, tls_client)
		end, describe_failure)
		if not fd then
			return nil, err
		end
		add_link(fd, rec)
		return fd
	end

	function inst.connect(addr)
		return connect("cluster.connect", addr)
	end

	-- Reads conf.tls's files again: links made from now on use them, open
	-- links keep theirs. true, or nil and what is wrong (nothing changes).
	function inst.reload_tls()
		if not tls_client then
			error("cluster.reload_tls: the instance has no conf.tls", 2)
		end
		for _, ctx in ipairs({tls_server or false, tls_client}) do
			if ctx then
				local ok, err = ctx:reload()
				if not ok then
					return nil, err
				end
			end
		end
		return true
	end

	-- inst.peer("svc://name", opts): a handle on the members of a service
	-- (silly.net.cluster.service); inst.peer is looked up when it is called.
	local function service_peer(name, opts)
		if name == "" or name:find("/", 1, true) then
			error("cluster.peer: 'svc://" .. name .. "' needs a service name without '/'", 3)
		end
		if type(opts) ~= "table" or type(opts.registry) ~= "table" or type(opts.registry.watch) ~= "function" then
			error("cluster.peer: svc:// needs {registry = <silly.net.cluster.discovery registry>}", 3)
		end
		if opts.key ~= nil and type(opts.key) ~= "function" then
			error("cluster.peer: opts.key must be a function(cmd, obj), got " .. type(opts.key), 3)
		end
		local grace = opts.grace or timeout
		if mtype(grace) ~= "integer" or grace < 0 then
			error("cluster.peer: opts.grace must be a non-negative integer (ms), got " .. tostring(grace), 3)
		end
		local s = services.new(name, opts.registry, opts.key, grace, inst.peer, inst.close)
		s.inst = inst
		return s
	end

	-- A handle that call, send and close take in place of an fd: it
	-- connects on first use and reconnects after its link drops.
	-- "svc://name" with {registry = reg [, key = fn(cmd, obj)] [, grace = ms]}
	-- is a handle on the members of a service (silly.net.cluster.service).
	function inst.peer(addr, opts)
		if type(addr) ~= "string" then
			error("cluster.peer: address string expected, got " .. type(addr), 2)
		end
		local svc = addr:match("^svc://(.*)$")
		if svc then
			return service_peer(svc, opts)
		end
		local p
		p = peers.new(addr, function(a)
			return connect("cluster.peer", a, p)
		end)
		p.inst = inst
		return p
	end

	-- fd is an open link (not a listener) of this instance.
	local function is_link(fd)
		local rec = links[fd]
		return rec ~= nil and rec.inst == inst and not rec.listener
	end

	-- The fd behind fd_or_peer for fname, waiting up to ms for a peer's
	-- link; fd, ms left, or nil and why.
	local function link_of(fname, fd, ms, cmd, obj)
		if mtype(fd) == "integer" then
			return fd, ms
		end
		if services.is(fd) then
			if fd.inst ~= inst then
				error(fname .. ": the service handle belongs to another instance", 3)
			end
			fd, ms = services.choose(fd, ms, fname, cmd, obj)
			if not fd then
				return nil, ms
			end
		end
		if not peers.is(fd) then
			error(fname .. ": fd (integer) expected, got " .. type(fd), 3)
		elseif fd.inst ~= inst then
			error(fname .. ": the peer belongs to another instance", 3)
		end
		return peers.wait(fd, ms, fname, inst.close)
	end

	local unmarshal = conf.unmarshal

	-- call(fd, cmd, obj [, timeout_ms]): without timeout_ms, the
	-- instance's timeout.
	function inst.call(fd, cmd, obj, ms)
		if ms == nil then
			ms = timeout
		elseif mtype(ms) ~= "integer" or ms <= 0 then
			error("cluster.call: timeout must be a positive integer (ms), got " .. tostring(ms), 2)
		end
		local left
		fd, left = link_of("cluster.call", fd, ms, cmd, obj)
		if not fd then
			return nil, left -- why there is no link
		end
		ms = left
		if not is_link(fd) then
			return nil, "closed"
		end
		local co, trace = current()
		if not co then
			error("cluster.call: must be called inside a task (see silly.fork)", 2)
		end
		local cmdn, data, size = encode("cluster.call", inst, cmd, obj)
		if not cmdn then
			return nil, data
		end
		if trace == 0 then
			trace = ctracenew()
		end
		local session, err
		if size then
			session, err = crequest(fd, cmdn, trace, data, size, ms)
		else
			session, err = crequest(fd, cmdn, trace, data, ms)
		end
		if not session then
			if observing then -- the rest is counted by the link (Link::stats)
				local m = link_metrics(links[fd])
				m.refused.value = m.refused.value + 1
			end
			return nil, err
		end
		waiting[session] = co
		-- Resumed at once when the response is read, with its payload.
		local ptr, psize, remote = park(co, "WAIT")
		if ptr == TIMEOUT then
			return nil, "timeout"
		elseif ptr == CLOSED then
			return nil, "closed"
		elseif remote then
			return nil, "remote " .. remote
		end
		local ok, body = pcall(unmarshal, "response", cmd, ptr, psize)
		if not ok then
			return nil, "unmarshal error: " .. first_line(body)
		end
		return body
	end

	function inst.send(fd, cmd, obj)
		if services.is(fd) and fd.inst == inst then
			fd = services.current(fd, cmd, obj)
			if not fd then
				return nil, "closed"
			end
		end
		if peers.is(fd) and fd.inst == inst then
			fd = peers.current(fd, inst.close)
			if not fd then
				return nil, "closed"
			end
		end
		check_fd("cluster.send", fd)
		if not is_link(fd) then
			return nil, "closed"
		end
		local cmdn, data, size = encode("cluster.send", inst, cmd, obj)
		if not cmdn then
			return nil, data
		end
		return cc.send(fd, cmdn, tracenew(), data, size)
	end

	function inst.close(fd)
		if services.is(fd) and fd.inst == inst then -- its members' links too
			services.close(fd)
			return true, "connected"
		end
		if peers.is(fd) and fd.inst == inst then -- stopped for good
			local pfd = peers.close(fd)
			if pfd then
				inst.close(pfd)
			end
			return true, "connected"
		end
		if type(fd) == "string" then -- a listen address
			for id, rec in pairs(links) do
				if rec.inst == inst and rec.listener and rec.addr == fd then
					fd = id
					break
				end
			end
			if type(fd) == "string" then
				return false, "closed"
			end
		end
		check_fd("cluster.close", fd)
		local rec = links[fd]
		if not rec or rec.inst ~= inst or rec.waiter then
			return false, "closed"
		end
		if observing then
			account(fd, rec) -- while the link is still there to read
		end
		local failed = cc.close(fd)
		drop_link(fd, 0, type(failed) == "table" and failed or {})
		return true, "connected"
	end

	return inst
end

M.new = new

-- Metrics turned on before this module was loaded reach it now.
do
	local collectors = package.loaded["silly.metrics.collectors"]
	if collectors and collectors.enabled then
		collectors.attach_cluster(M)
	end
end

-- Pending calls and responses dropped as late or unknown, and per open
-- link (by fd): its address, pending calls, timeouts, reconnects of its
-- peer handle, pings sent and missed, bytes in and out, agreed features,
-- and ms since anything arrived.
function M.stats()
	local pending, dropped = cc.stats()
	local per_link = {}
	for fd, rec in pairs(links) do
		local st = not rec.listener and cc.linkstats(fd)
		if st then
			st.addr = rec.addr
			st.reconnects = rec.peer and rec.peer.reconnects or 0
			per_link[fd] = st
		end
	end
	return {pending = pending, dropped = dropped, links = per_link}
end

return M
