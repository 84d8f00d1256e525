-- silly.net.cluster.discovery: a service registry kept in etcd.
--
--   local reg = discovery.new{etcd = cli, prefix = "/silly/", ttl = 10}
--   reg:register("battle", "10.0.0.5:7001", {zone = 1})
--   reg:members("battle")          -> {{addr =, meta =}, ...} by address
--   reg:watch("battle", fn)        -> fn("join"|"update"|"leave", member)
--   reg:close()                    -- revokes the lease: gone from etcd at once
--
-- A node is the key <prefix><service>/<addr> holding {"addr":..,"meta":..}
-- under one lease per registry, renewed in the background every ttl/3. A
-- node that dies leaves when its lease expires. Membership is read once
-- and then kept current by a watch; while etcd is unreachable the last
-- membership seen stays in use and the watch catches up from its revision
-- when etcd is back. Nothing here makes a cluster call wait on etcd.
local silly = require "silly"
local time = require "silly.time"
local logger = require "silly.logger"
local mutex = require "silly.sync.mutex"
local json = require("cjson.safe").new()

local mtype, type, tostring, format = math.type, type, tostring, string.format

local M = {}

local DEFAULT_TTL = 10
local RETRY_MS = 1000 -- while etcd cannot be reached

local registry = {}
registry.__index = registry
registry.__name = "cluster.discovery"

function M.new(conf)
	if type(conf) ~= "table" then
		error("discovery.new: conf table expected, got " .. type(conf), 2)
	end
	local cli = conf.etcd
	if type(cli) ~= "table" or type(cli.watch) ~= "function" then
		error("discovery.new: conf.etcd must be a silly.store.etcd client", 2)
	end
	local prefix = conf.prefix or "/silly/"
	if type(prefix) ~= "string" or prefix == "" then
		error("discovery.new: conf.prefix must be a non-empty string", 2)
	end
	local ttl = conf.ttl or DEFAULT_TTL
	if mtype(ttl) ~= "integer" or ttl < 2 then
		error("discovery.new: conf.ttl must be an integer of at least 2 (seconds), got " .. tostring(ttl), 2)
	end
	return setmetatable({
		etcd = cli,
		prefix = prefix,
		ttl = ttl,
		lease = nil, -- the lease all registrations share, once granted
		entries = {}, -- key -> {value =, written =}
		keeper = nil, -- the task that renews the lease
		tracked = {}, -- service -> what is known of it (track)
		lock = mutex.new(),
		failing = false,
		closed = false,
	}, registry)
end

-- A member's key: <prefix><service>/<addr>.
local function key_of(reg, service, addr)
	return reg.prefix .. service .. "/" .. addr
end

local function check_service(fname, service)
	if type(service) ~= "string" or service == "" or service:find("/", 1, true) then
		error(fname .. ": service must be a non-empty string without '/', got " .. tostring(service), 3)
	end
end

local function outage(reg, err)
	if not reg.failing then
		reg.failing = true
		logger.warn("[discovery] etcd unreachable:", err, "- keeping the last membership seen, retrying")
	end
end

local function recovered(reg)
	if reg.failing then
		reg.failing = false
		logger.info("[discovery] etcd reachable again")
	end
end

-- Grants the lease if there is none and writes every registration not yet
-- written under it; true, or nil and the first failure.
local function write_all(reg)
	local _<close> = reg.lock:lock("lease")
	local cli = reg.etcd
	if not reg.lease then
		local id, err = cli:grant(reg.ttl)
		if not id then
			return nil, err
		end
		reg.lease = id
		for _, e in pairs(reg.entries) do
			e.written = false
		end
	end
	for key, e in pairs(reg.entries) do
		if not e.written then
			local ok, err = cli:put(key, e.value, {lease = reg.lease})
			if not ok then
				return nil, err
			end
			e.written = true
		end
	end
	return true
end

-- The lease's life: renewed every ttl/3; when it is found expired (etcd was
-- out of reach for longer than the TTL), granted again and every
-- registration written anew.
local function keep(reg)
	local period = reg.ttl * 1000 // 3
	while not reg.closed do
		local wait = period
		local ok, err = write_all(reg)
		if ok then
			local lease = reg.lease
			local ttl, kerr = reg.etcd:keepalive(lease)
			if ttl then
				recovered(reg)
			elseif kerr == "lease not found" and not reg.closed and reg.lease == lease then
				logger.warn("[discovery] lease", format("%x", lease), "expired; registering again")
				reg.lease = nil
				wait = 0 -- granted again at once
			else
				err = kerr
			end
		end
		if reg.closed then
			break
		end
		if err then
			outage(reg, err)
			wait = math.min(period, RETRY_MS)
		end
		if wait > 0 then
			time.sleep(wait)
		end
	end
	reg.keeper = nil
end

local function encode_value(fname, addr, meta)
	if meta ~= nil and type(meta) ~= "table" then
		error(fname .. ": meta must be a table, got " .. type(meta), 3)
	end
	local value, err = json.encode({addr = addr, meta = meta or {}})
	if not value then
		error(fname .. ": meta cannot be encoded as JSON: " .. tostring(err), 3)
	end
	return value
end

-- Registers addr as a member of service; true once it is in etcd, or nil
-- and why not yet: the registration is kept and written as soon as etcd
-- can be reached, until deregister or close.
function registry:register(service, addr, meta)
	check_service("discovery.register", service)
	if type(addr) ~= "string" or not addr:match(":%w+$") then
		error("discovery.register: addr must be 'host:port', got " .. tostring(addr), 2)
	end
	-- What other nodes will connect to: a wildcard names no machine.
	local host = addr:match("^%[(.*)%]:%w+$") or addr:match("^(.*):%w+$")
	if host == "" or host == "0.0.0.0" or host == "::" then
		error("discovery.register: addr '" .. addr .. "' names no machine; register the address other " ..
			"nodes reach this one on", 2)
	end
	if self.closed then
		error("discovery.register: the registry is closed", 2)
	end
	local value = encode_value("discovery.register", addr, meta)
	silly._checkblock("discovery.register")
	self.entries[key_of(self, service, addr)] = {value = value, written = false}
	if not self.keeper then
		self.keeper = true
		silly.fork(function()
			keep(self)
		end)
	end
	local ok, err = write_all(self)
	if not ok then
		outage(self, err)
		return nil, err
	end
	return true
end

function registry:deregister(service, addr)
	check_service("discovery.deregister", service)
	local key = key_of(self, service, tostring(addr))
	if not self.entries[key] then
		return nil, "not registered"
	end
	self.entries[key] = nil
	local n, err = self.etcd:delete(key)
	if not n then
		return nil, err
	end
	return true
end

---------------------------------------------------------------------------
-- Membership: per service, a table {members = addr -> member, fns = {...}}
-- loaded with one range read and kept current by a watch from the revision
-- after it.

local function notify(t, what, m)
	for _, fn in ipairs(t.fns) do
		local ok, err = xpcall(fn, debug.traceback, what, m)
		if not ok then
			logger.error("[discovery] watch", t.service, "handler error:", err)
		end
	end
end

-- JSON has one number type and lua-cjson decodes each as a float; whole
-- numbers in meta come back as the integers they were registered as.
local function integers(t)
	for k, v in pairs(t) do
		if mtype(v) == "float" and math.tointeger(v) then
			t[k] = math.tointeger(v)
		elseif type(v) == "table" then
			integers(v)
		end
	end
	return t
end

local function member_of(value)
	local v = json.decode(value)
	if type(v) ~= "table" or type(v.addr) ~= "string" then
		return nil
	end
	return {addr = v.addr, meta = type(v.meta) == "table" and integers(v.meta) or {}, value = value}
end

local function apply_put(t, addr, value)
	local old = t.members[addr]
	if old and old.value == value then
		return
	end
	local m = member_of(value)
	if not m then
		logger.warn("[discovery] ignoring malformed entry of", t.service, "for", addr)
		return
	end
	t.members[addr] = m
	notify(t, old and "update" or "join", m)
end

local function apply_delete(t, addr)
	local old = t.members[addr]
	if old then
		t.members[addr] = nil
		notify(t, "leave", old)
	end
end

-- Makes the members equal to a fresh read: what changed is notified.
local function apply_snapshot(t, kvs)
	local seen = {}
	for _, kv in ipairs(kvs) do
		local addr = kv.key:sub(#t.keyprefix + 1)
		seen[addr] = true
		apply_put(t, addr, kv.value)
	end
	for addr in pairs(t.members) do
		if not seen[addr] then
			apply_delete(t, addr)
		end
	end
end

local function on_event(reg, t, ev)
	if ev.type == "compacted" then
		-- Events were lost: read the whole set again and notify the difference.
		local kvs, err = reg.etcd:get(t.keyprefix, {prefix = true})
		if kvs then
			apply_snapshot(t, kvs)
		else
			logger.warn("[discovery]", t.service, "resync after compaction failed:", err)
		end
		return
	end
	local addr = ev.key:sub(#t.keyprefix + 1)
	if ev.type == "put" then
		apply_put(t, addr, ev.value)
	else
		apply_delete(t, addr)
	end
end

-- Reads the service until it succeeds, then watches it.
local function load(reg, t)
	while not reg.closed and not t.closed do
		local kvs, rev = reg.etcd:get(t.keyprefix, {prefix = true})
		if kvs then
			recovered(reg)
			apply_snapshot(t, kvs)
			t.loaded = true
			t.watcher = reg.etcd:watch(t.keyprefix, function(ev)
				on_event(reg, t, ev)
			end, {revision = rev + 1})
			break
		end
		t.error = rev
		outage(reg, rev)
		time.sleep(RETRY_MS)
	end
	local ws = t.loaders
	t.loaders = {}
	for _, co in ipairs(ws) do
		silly._wake(co)
	end
end

local function track(reg, service)
	local t = reg.tracked[service]
	if not t then
		t = {service = service, keyprefix = key_of(reg, service, ""), members = {}, fns = {}, loaded = false,
			loaders = {}}
		reg.tracked[service] = t
		silly.fork(function()
			load(reg, t)
		end)
	end
	return t
end

local function sorted(t)
	local list = {}
	for _, m in pairs(t.members) do
		list[#list + 1] = {addr = m.addr, meta = m.meta}
	end
	table.sort(list, function(a, b)
		return a.addr < b.addr
	end)
	return list
end

-- The live members of service, by address. The first call for a service
-- reads it from etcd (nil and why when that fails within the client's
-- timeout); later calls answer from what the watch keeps current.
function registry:members(service)
	check_service("discovery.members", service)
	local t = track(self, service)
	if not t.loaded then
		local co = silly._checkblock("discovery.members")
		t.loaders[#t.loaders + 1] = co
		local timer = time.after(self.etcd.timeout, function()
			for i, w in ipairs(t.loaders) do
				if w == co then
					table.remove(t.loaders, i)
					silly._wake(co)
					break
				end
			end
		end)
		silly._suspend("discovery.members", "WAIT")
		time.cancel(timer)
		if not t.loaded then
			return nil, tostring(t.error or "etcd did not answer in time")
		end
	end
	return sorted(t)
end

-- fn(what, member) for each change of service's membership, in order:
-- "join" (first, once for each member already there), "update" (its meta
-- changed) or "leave". Never blocks; the members arrive once etcd answers.
-- Returns a function that stops the calls.
function registry:watch(service, fn)
	check_service("discovery.watch", service)
	if type(fn) ~= "function" then
		error("discovery.watch: function expected, got " .. type(fn), 2)
	end
	local t = track(self, service)
	t.fns[#t.fns + 1] = fn
	for _, m in ipairs(sorted(t)) do
		local ok, err = xpcall(fn, debug.traceback, "join", t.members[m.addr])
		if not ok then
			logger.error("[discovery] watch", service, "handler error:", err)
		end
	end
	return function()
		for i, f in ipairs(t.fns) do
			if f == fn then
				table.remove(t.fns, i)
				break
			end
		end
	end
end

-- Stops the registry: its lease is revoked, so that its registrations
-- leave etcd at once, and its watches end. true, or nil and why the
-- revoke failed (the lease then expires within its TTL).
function registry:close()
	if self.closed then
		return true
	end
	self.closed = true
	for _, t in pairs(self.tracked) do
		t.closed = true
		if t.watcher then
			t.watcher:cancel()
		end
	end
	local lease = self.lease
	self.lease = nil
	self.entries = {}
	if lease then
		return self.etcd:revoke(lease)
	end
	return true
end

return M
