-- silly.net.cluster: RPC between nodes over TCP.
--
-- Links, framing and sessions live in C++ (cluster::Link, reached through
-- silly.cluster.c); this module keeps one record per link and listener and
-- the tasks waiting on calls. Payloads are unmarshalled where they arrive,
-- inside on_batch, because the buffer handed to unmarshal points into the
-- link's receive ring. An instance is an object of the Instance class
-- below, whose public functions are bound to it, so that scripts call
-- them with a dot as on the original framework (inst.call(fd, ...)).
-- Metrics live in silly.net.cluster.metrics, reached through one hook.
local silly = require "silly"
local net = require "silly.net"
local cc = require "silly.cluster.c"
local nc = require "silly.net.c"
local tc = require "silly.tls.c"
local logger = require "silly.logger"
local logwriteat = require("silly.logger.c").writeat
local peers = require "silly.net.cluster.peer"
local services = require "silly.net.cluster.service"
local cmetrics = require "silly.net.cluster.metrics"

local pcall = pcall
local type = type
local error = error
local mtype = math.type
local tointeger = math.tointeger
local traceback = debug.traceback
local spawn = silly._spawn
local spawn_traced = silly._spawn_traced
local current = silly._current
local park = silly._park
local resume = silly._resume
local wake = silly._wake
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

-- The metrics hooks (silly.net.cluster.metrics) once metrics are on; nil:
-- off, and one test per call.
local observer = nil

local function first_line(s)
	return (tostring(s):match("^[^\n]*"))
end

-- What a script passed, for an error that names it: a string quoted, a
-- number as it is, anything else by its type.
local function shown(v)
	if type(v) == "string" then
		return string.format("string %q", #v > 40 and v:sub(1, 40) .. "..." or v)
	elseif type(v) == "number" then
		return tostring(v)
	end
	return type(v)
end

-- What marshal returned as a payload, checked: a string (with a size, at
-- most its length; it is cut to it), or a lightuserdata and its size.
-- Raises at `level` otherwise, naming fname.
-- (On every call: type() is asked once, as each call of it interns its
-- answer's string anew.)
local function payload(fname, data, size, level)
	local t = type(data)
	if t == "string" then
		if size == nil then
			return data
		end
		if mtype(size) ~= "integer" or size < 0 or size > #data then
			error(fname .. ": marshal returned a size of " .. shown(size) .. " for a string of " .. #data .. " bytes",
				level)
		end
		return size < #data and data:sub(1, size) or data
	elseif t ~= "userdata" then
		error(fname .. ": marshal must return data as a string or lightuserdata and size, got " .. t, level)
	end
	if mtype(size) ~= "integer" then
		error(fname .. ": marshal returned a lightuserdata without its size (an integer), got " .. shown(size), level)
	end
	return data, size
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
	data, dsize = payload("cluster response", data, dsize, 2)
	local sent, err = cresponse(fd, session, data, dsize)
	if not sent and err ~= "closed" then
		error(err, 0)
	end
end

function M._observe(families)
	observer = cmetrics.attach(families, link_records)
end

M._latency_bounds = cmetrics.latency_bounds

-- Before each scrape.
function M._collect()
	observer.collect()
end

-- When the batch being dispatched arrived (µs), for the handler histogram,
-- and whether its link carries deadlines.
local batch_t0, batch_deadlines = 0, false
-- task -> the deadline its caller sent (ms since the epoch), while the task
-- serves a request that came with one (cluster.deadline()).
local task_deadlines = setmetatable({}, {__mode = "k"})

-- The task of one request: frame i of batch b from link fd. A task takes at
-- most three arguments (see silly.lua's task_entry), so the request's
-- fields are read from the batch here, before anything can yield: the task
-- starts within on_batch, and the table is refilled for the next batch.
local function handle_request(fd, b, i)
	local session, cmd, ptr, size, t0 = b[i + 1], b[i + 2], b[i + 4], b[i + 5], batch_t0
	local inst = links[fd].inst -- on_batch saw the link open just now
	local co
	if batch_deadlines then
		local deadline = b[i + 6]
		if deadline ~= 0 then
			co = current()
			task_deadlines[co] = deadline
		end
	end
	local ok, err = xpcall(serve, traceback, inst, fd, session, cmd, ptr, size)
	if co then
		task_deadlines[co] = nil
	end
	if not ok then
		-- Named by the handler's own line, not this one.
		logwriteat(3, silly._tracecurrent(), silly._site(err), "[cluster] request cmd", cmd, "on link", fd, "failed:", err)
		cc.error(fd, session, "handler error: " .. first_line(err))
	end
	if observer then
		observer.handled(fd, t0, ok, links[fd])
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
	if observer and not rec.listener then
		observer.dropped(fd, rec, #failed) -- a link still in C++
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

-- Every frame of one read batch (see silly.cluster.c for the layout: seven
-- slots a frame).
local function on_batch(fd, n, b, t, d)
	batch_t0, batch_deadlines = t, d
	for i = 1, n * 7, 7 do
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

-- The instance class --------------------------------------------------

local function check_fd(fname, fd)
	if mtype(fd) ~= "integer" then
		error(fname .. ": fd (integer) expected, got " .. type(fd), 3)
	end
end

-- A connect's failure in words: a refused secret says so, and so does a
-- hello that had to be answered and was not.
local EACCES, ETIMEDOUT = nc.errno.EACCES, nc.errno.ETIMEDOUT
local function describe_failure(status)
	if status == -EACCES then
		return "authentication failed"
	elseif status == -ETIMEDOUT then
		return "no answer to the hello"
	end
	return nc.strerror(status)
end

local TLS_FIELDS = {cert = true, key = true, ca = true, verify = true, servername = true}

-- conf.tls -> the listening side's context (nil without cert and key) and
-- the connecting side's; a file that cannot be used raises here, named.
local function tls_contexts(t, handshake)
	if type(t) ~= "table" then
		error("cluster.new: conf.tls must be a table, got " .. type(t), 4)
	end
	for k in pairs(t) do
		if not TLS_FIELDS[k] then
			error("cluster.new: unknown conf.tls option '" .. tostring(k) .. "'", 4)
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

-- The one rule for codecs: a failure that depends on the data (marshal or
-- unmarshal raising, unmarshal giving nothing) is returned as
-- nil, "<marshal|unmarshal> error: <why>"; a programming error (wrong
-- types, a size beyond the string) raises, naming the function.
local function encode(fname, inst, cmd, obj)
	local ok, cmdn, data, size = pcall(inst.__event.marshal, "request", cmd, obj)
	if not ok then
		return nil, "marshal error: " .. first_line(cmdn)
	end
	-- tointeger, not math.type: no string made per call (an integral float
	-- passes, as the C side takes it).
	if tointeger(cmdn) ~= cmdn then
		error(fname .. ": marshal must return an integer cmd first, got " ..
			(type(cmdn) == "string" and ("the string '" .. cmdn .. "'") or type(cmdn)), 3)
	end
	if size ~= nil or type(data) ~= "string" then -- not the common case: check it
		data, size = payload(fname, data, size, 4)
	end
	if cmdn ~= cmd and cmdnames[cmdn] ~= cmd and type(cmd) == "string" then
		cmdnames[cmdn] = cmd
	end
	return cmdn, data, size
end

-- Inside a method, another public one is called as Instance.name(self,
-- ...): the instance's own fields are the bound functions.
local Instance = {}
Instance.__index = Instance

-- conf -> the instance's settings; raises naming what is wrong.
local function check_conf(conf)
	if type(conf) ~= "table" then
		error("cluster.new: conf table expected, got " .. type(conf), 3)
	end
	for _, k in ipairs({"marshal", "unmarshal", "call", "close"}) do
		if type(conf[k]) ~= "function" then
			error("cluster.new: conf." .. k .. " must be a function, got " .. type(conf[k]), 3)
		end
	end
	if conf.accept ~= nil and type(conf.accept) ~= "function" then
		error("cluster.new: conf.accept must be a function, got " .. type(conf.accept), 3)
	end
	local timeout = conf.timeout or 5000
	if mtype(timeout) ~= "integer" or timeout <= 0 then
		error("cluster.new: conf.timeout must be a positive integer (ms)", 3)
	end
	-- Options beyond the original framework; none set: the base wire.
	for _, k in ipairs({"heartbeat", "keepalive", "maxpayload"}) do
		local v = conf[k]
		if v ~= nil and (mtype(v) ~= "integer" or v <= 0) then
			error("cluster.new: conf." .. k .. " must be a positive integer, got " .. tostring(v), 3)
		end
	end
	local maxpayload = conf.maxpayload or cc.MAX_REQUEST
	if maxpayload > 0x7fffffff then
		error("cluster.new: conf.maxpayload must be at most 2^31 - 1, got " .. maxpayload, 3)
	end
	local secret = conf.secret
	if secret ~= nil and (type(secret) ~= "string" or secret == "") then
		error("cluster.new: conf.secret must be a non-empty string", 3)
	end
	local handshake = conf.handshake or 5000
	if mtype(handshake) ~= "integer" or handshake <= 0 then
		error("cluster.new: conf.handshake must be a positive integer (ms), got " .. tostring(handshake), 3)
	end
	local frame_timeout = conf.frame_timeout or 30000
	if mtype(frame_timeout) ~= "integer" or frame_timeout < 0 then
		error("cluster.new: conf.frame_timeout must be a non-negative integer (ms, 0: off), got " ..
			tostring(frame_timeout), 3)
	end
	local deadline = conf.deadline
	if deadline ~= nil and type(deadline) ~= "boolean" then
		error("cluster.new: conf.deadline must be a boolean, got " .. type(deadline), 3)
	end
	if conf.name ~= nil and type(conf.name) ~= "string" then
		error("cluster.new: conf.name must be a string, got " .. type(conf.name), 3)
	end
	local s = {timeout = timeout, heartbeat = conf.heartbeat or 0, keepalive = conf.keepalive or 0,
		maxpayload = maxpayload, secret = secret, handshake = handshake, frame_timeout = frame_timeout,
		deadline = deadline ~= false}
	if conf.tls ~= nil then
		s.tls_server, s.tls_client = tls_contexts(conf.tls, handshake)
	end
	return s
end

-- A listener that anyone who reaches it may call: said once, at listen.
local function warn_if_open(fd, addr)
	local bound = nc.sockname(fd) or addr
	local host = bound:match("^%[(.*)%]:%d+$") or bound:match("^(.*):%d+$") or bound
	if host:match("^127%.") or host == "::1" or host == "localhost" then
		return
	end
	logger.warn("[cluster] listening on " .. bound .. " without secret or tls: anyone who can reach it can " ..
		"call every handler (set conf.secret or conf.tls)")
end

function Instance:listen(addr, backlog)
	if type(addr) ~= "string" then
		error("cluster.listen: address string expected, got " .. type(addr), 2)
	end
	local s = self.__settings
	if s.tls_client and not s.tls_server then
		error("cluster.listen: conf.tls needs cert and key to listen", 2)
	end
	local fd, err = cc.listen(addr, backlog or 128, s.heartbeat, s.keepalive, s.maxpayload, s.secret, s.handshake,
		s.frame_timeout, s.deadline, s.tls_server)
	if not fd then
		return nil, err
	end
	add_link(fd, {inst = self, addr = addr, listener = true})
	if not (s.secret or s.tls_server) then
		warn_if_open(fd, addr)
	end
	return fd
end

-- A link to addr; `peer` is the handle that owns it, if any.
local function connect(self, fname, addr, peer)
	if type(addr) ~= "string" then
		error(fname .. ": address string expected, got " .. type(addr), 3)
	end
	silly._checkblock(fname)
	local target, rerr = net._resolve(addr)
	if not target then
		return nil, rerr
	end
	local s = self.__settings
	local rec = {inst = self, addr = addr, peer = peer}
	-- A peer whose links answered hellos must answer this one too: a
	-- stopped process's kernel backlog takes the connect, not the hello.
	local require_ack = peer ~= nil and peer.extended
	local fd, err = net._connect(fname, link_records, rec, function()
		return cc.connect(target, s.timeout, s.heartbeat, s.keepalive, s.maxpayload, s.secret, s.handshake,
			s.frame_timeout, s.deadline, s.tls_client, require_ack)
	end, describe_failure)
	if not fd then
		return nil, err
	end
	add_link(fd, rec)
	if peer and not peer.extended then
		local st = cc.linkstats(fd)
		peer.extended = st ~= nil and st.features ~= 0
	end
	return fd
end

function Instance:connect(addr)
	return connect(self, "cluster.connect", addr)
end

-- Reads conf.tls's files again: links made from now on use them, open
-- links keep theirs. true, or nil and what is wrong (nothing changes).
function Instance:reload_tls()
	local s = self.__settings
	if not s.tls_client then
		error("cluster.reload_tls: the instance has no conf.tls", 2)
	end
	for _, ctx in ipairs({s.tls_server or false, s.tls_client}) do
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
-- (silly.net.cluster.service).
local function service_peer(self, name, opts)
	if name == "" or name:find("/", 1, true) then
		error("cluster.peer: 'svc://" .. name .. "' needs a service name without '/'", 3)
	end
	if type(opts) ~= "table" or type(opts.registry) ~= "table" or type(opts.registry.watch) ~= "function" then
		error("cluster.peer: svc:// needs {registry = <silly.net.cluster.discovery registry>}", 3)
	end
	if opts.key ~= nil and type(opts.key) ~= "function" then
		error("cluster.peer: opts.key must be a function(cmd, obj), got " .. type(opts.key), 3)
	end
	local grace = opts.grace or self.__settings.timeout
	if mtype(grace) ~= "integer" or grace < 0 then
		error("cluster.peer: opts.grace must be a non-negative integer (ms), got " .. tostring(grace), 3)
	end
	local s = services.new(name, opts.registry, opts.key, grace, self.peer, self.close)
	s.inst = self
	return s
end

-- A handle that call, send and close take in place of an fd: it
-- connects on first use and reconnects after its link drops.
-- "svc://name" with {registry = reg [, key = fn(cmd, obj)] [, grace = ms]}
-- is a handle on the members of a service (silly.net.cluster.service).
function Instance:peer(addr, opts)
	if type(addr) ~= "string" then
		error("cluster.peer: address string expected, got " .. type(addr), 2)
	end
	local svc = addr:match("^svc://(.*)$")
	if svc then
		return service_peer(self, svc, opts)
	end
	local p
	p = peers.new(addr, function(a)
		return connect(self, "cluster.peer", a, p)
	end)
	p.inst = self
	return p
end

-- fd is an open link (not a listener) of this instance.
local function is_link(self, fd)
	local rec = links[fd]
	return rec ~= nil and rec.inst == self and not rec.listener
end

-- The fd behind fd_or_peer for fname, waiting up to ms for a peer's
-- link; fd, ms left, or nil and why.
local function link_of(self, fname, fd, ms, cmd, obj)
	if mtype(fd) == "integer" then
		return fd, ms
	end
	if services.is(fd) then
		if fd.inst ~= self then
			error(fname .. ": the service handle belongs to another instance", 3)
		end
		fd, ms = services.choose(fd, ms, fname, cmd, obj)
		if not fd then
			return nil, ms
		end
	end
	if not peers.is(fd) then
		error(fname .. ": fd (integer) expected, got " .. type(fd), 3)
	elseif fd.inst ~= self then
		error(fname .. ": the peer belongs to another instance", 3)
	end
	return peers.wait(fd, ms, fname, self.close)
end

-- call(fd, cmd, obj [, timeout_ms]): without timeout_ms, the instance's
-- timeout. The hottest path there is: made per instance, so that what it
-- reads on every call is an upvalue and the script's call reaches it with
-- no wrapper in between.
local function make_call(self)
	local timeout, unmarshal = self.__timeout, self.__unmarshal
	return function(fd, cmd, obj, ms)
		if ms == nil then
			ms = timeout
		elseif mtype(ms) ~= "integer" or ms <= 0 then
			error("cluster.call: timeout must be a positive integer (ms), got " .. shown(ms), 2)
		end
		if not is_link(self, fd) then -- a peer or service handle, or not an open link of ours
			local left
			fd, left = link_of(self, "cluster.call", fd, ms, cmd, obj)
			if not fd then
				return nil, left -- why there is no link
			end
			ms = left
			if not is_link(self, fd) then
				return nil, "closed"
			end
		end
		local co, trace = current()
		if not co then
			error("cluster.call: must be called inside a task (see silly.fork)", 2)
		end
		local cmdn, data, size = encode("cluster.call", self, cmd, obj)
		if not cmdn then
			return nil, data
		end
		local session, err
		if size then
			session, err = crequest(fd, cmdn, trace, data, size, ms)
		else
			session, err = crequest(fd, cmdn, trace, data, ms)
		end
		if not session then
			if observer then -- the rest is counted by the link (Link::stats)
				observer.refused(links[fd])
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
		elseif body == nil then
			return nil, "unmarshal error: unmarshal returned nothing for a " .. psize .. "-byte response"
		end
		return body
	end
end

function Instance:call(fd, cmd, obj, ms)
	return self.call(fd, cmd, obj, ms)
end

function Instance:send(fd, cmd, obj)
	if services.is(fd) and fd.inst == self then
		fd = services.current(fd, cmd, obj)
		if not fd then
			return nil, "closed"
		end
	end
	if peers.is(fd) and fd.inst == self then
		fd = peers.current(fd, self.close)
		if not fd then
			return nil, "closed"
		end
	end
	check_fd("cluster.send", fd)
	if not is_link(self, fd) then
		return nil, "closed"
	end
	local cmdn, data, size = encode("cluster.send", self, cmd, obj)
	if not cmdn then
		return nil, data
	end
	return cc.send(fd, cmdn, tracenew(), data, size)
end

-- The fd of this instance's listener on addr, or nil.
local function listener_at(self, addr)
	for id, rec in pairs(links) do
		if rec.inst == self and rec.listener and rec.addr == addr then
			return id
		end
	end
end

function Instance:close(fd)
	if services.is(fd) and fd.inst == self then -- its members' links too
		services.close(fd)
		return true, "connected"
	end
	if peers.is(fd) and fd.inst == self then -- stopped for good
		local pfd = peers.close(fd)
		if pfd then
			Instance.close(self, pfd)
		end
		return true, "connected"
	end
	if type(fd) == "string" then -- a listen address
		fd = listener_at(self, fd)
		if not fd then
			return false, "closed"
		end
	end
	check_fd("cluster.close", fd)
	local rec = links[fd]
	if not rec or rec.inst ~= self or rec.waiter then
		return false, "closed"
	end
	if observer then
		observer.account(fd, rec) -- while the link is still there to read
	end
	local failed = cc.close(fd)
	drop_link(fd, 0, type(failed) == "table" and failed or {})
	return true, "connected"
end

-- cluster.new(conf) -> an instance. __fdaddr (fd -> address of each open
-- link and listener) is the documented view scripts may read; __name
-- labels the instance's metrics and __metrics holds their children.
function M.new(conf)
	local settings = check_conf(conf)
	instances = instances + 1
	-- What a call reads on every call sits on the instance itself.
	local inst = setmetatable({__event = conf, __fdaddr = {}, __name = conf.name or tostring(instances),
		__metrics = {__count = 0}, __settings = settings, __timeout = settings.timeout,
		__unmarshal = conf.unmarshal}, Instance)
	-- Bound with tail calls, so that an error raised at level 2 names the
	-- script's line; call is its own closure (make_call).
	local send = Instance.send
	inst.listen = function(addr, backlog) return Instance.listen(inst, addr, backlog) end
	inst.connect = function(addr) return Instance.connect(inst, addr) end
	inst.reload_tls = function() return Instance.reload_tls(inst) end
	inst.peer = function(addr, opts) return Instance.peer(inst, addr, opts) end
	inst.call = make_call(inst)
	inst.send = function(fd, cmd, obj) return send(inst, fd, cmd, obj) end
	inst.close = function(fd) return Instance.close(inst, fd) end
	return inst
end

-- Metrics turned on before this module was loaded reach it now.
do
	local collectors = package.loaded["silly.metrics.collectors"]
	if collectors and collectors.enabled then
		collectors.attach_cluster(M)
	end
end

-- Inside a handler: the ms left before the caller gives up (negative once
-- it has), or nil when the request came without a deadline (a send, a
-- link without deadlines, a peer of the original framework). Judged on
-- this node's wall clock against the caller's (docs/reliability.md).
local wallnow = require("silly.c").now
function M.deadline()
	local dl = task_deadlines[current()]
	if not dl then
		return nil
	end
	return dl - wallnow()
end

-- Pending calls, responses dropped as late or unknown, requests not
-- started because their callers had given up (expired), and per open link
-- (by fd): its address, pending calls, timeouts, reconnects of its peer
-- handle, pings sent and missed, bytes in and out, agreed features, ms
-- since anything arrived, and its own expired count.
function M.stats()
	local pending, dropped, expired = cc.stats()
	local per_link = {}
	for fd, rec in pairs(links) do
		local st = not rec.listener and cc.linkstats(fd)
		if st then
			st.addr = rec.addr
			st.reconnects = rec.peer and rec.peer.reconnects or 0
			per_link[fd] = st
		end
	end
	return {pending = pending, dropped = dropped, expired = expired, links = per_link}
end

return M
