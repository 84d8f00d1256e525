-- silly.store.etcd: an etcd v3 client on etcd's HTTP/JSON gateway
-- (POST /v3/..., keys and values in base64), for nodes that keep their
-- membership in etcd (silly.net.cluster.discovery).
--
--   local cli = etcd.new{endpoints = {"127.0.0.1:2379"}, timeout = 3000}
--   cli:put(k, v [, {lease = id}])       -> revision
--   cli:get(k [, {prefix = true}])        -> {kv...}, revision
--   cli:delete(k [, {prefix = true}])     -> deleted count, revision
--   cli:grant(ttl_s) -> id, ttl;  cli:keepalive(id) -> ttl;  cli:revoke(id) -> true
--   cli:watch(prefix, fn [, {revision = r, prefix = false}]) -> watcher
--
-- Requests fail with nil and a reason. A request that cannot reach one
-- endpoint tries the next one (a request may thus reach etcd twice: put
-- and delete are idempotent, a lease granted twice expires unused).
-- JSON is lua-cjson's (Debian's lua-cjson); every int64 travels as a
-- string both ways, so lease ids keep all their 64 bits.
local silly = require "silly"
local time = require "silly.time"
local tcp = require "silly.net.tcp"
local logger = require "silly.logger"
local backoff = require "silly.backoff"
local base64 = require "silly.encoding.base64"
local gateway = require "silly.store.etcd.gateway"

local has_cjson, cjson = pcall(require, "cjson.safe")
if not has_cjson then
	error("silly.store.etcd needs lua-cjson for Lua 5.4 (Debian: apt-get install lua-cjson)", 2)
end
local json = cjson.new()

local b64enc, b64dec = base64.encode, base64.decode
local mtype, tointeger, tonumber, tostring, type = math.type, math.tointeger, tonumber, tostring, type
local format, concat = string.format, table.concat

local M = {}

local DEFAULT_TIMEOUT = 3000
local DEFAULT_MAX_RESPONSE = 64 * 1024 * 1024

local client = {}
client.__index = client
client.__name = "etcd.client"

local watcher = {}
watcher.__index = watcher
watcher.__name = "etcd.watcher"

local function int(v)
	return v and tointeger(tonumber(v)) or 0
end

-- The end of the range of keys that start with `prefix`: the prefix with
-- its last byte that is not 0xff incremented ("\0", all keys, if none).
local function prefix_end(prefix)
	for i = #prefix, 1, -1 do
		local b = prefix:byte(i)
		if b < 0xff then
			return prefix:sub(1, i - 1) .. string.char(b + 1)
		end
	end
	return "\0"
end

local function check_string(fname, what, v, allow_empty)
	if type(v) ~= "string" or (v == "" and not allow_empty) then
		error(format("%s: %s must be a %sstring, got %s", fname, what, allow_empty and "" or "non-empty ",
			v == "" and "''" or type(v)), 3)
	end
end

local function check_opts(fname, opts)
	if opts ~= nil and type(opts) ~= "table" then
		error(fname .. ": options must be a table, got " .. type(opts), 3)
	end
	return opts or {}
end

local function check_id(fname, id)
	if mtype(id) ~= "integer" then
		error(fname .. ": lease id must be an integer, got " .. tostring(id), 3)
	end
	return format("%d", id)
end

-- "http://host:port/" -> "host:port"
local function endpoint_of(ep)
	if type(ep) ~= "string" then
		error("etcd.new: each endpoint must be a string, got " .. type(ep), 3)
	end
	if ep:match("^https://") then
		error("etcd.new: endpoint '" .. ep .. "': only plain http endpoints are supported", 3)
	end
	local hostport = ep:gsub("^http://", ""):gsub("/$", "")
	if not hostport:match(":%d+$") then
		error("etcd.new: endpoint '" .. ep .. "' needs host:port", 3)
	end
	return hostport
end

function M.new(conf)
	if type(conf) ~= "table" then
		error("etcd.new: conf table expected, got " .. type(conf), 2)
	end
	local eps = conf.endpoints
	if type(eps) ~= "table" or #eps == 0 then
		error("etcd.new: conf.endpoints must be a non-empty list of 'host:port'", 2)
	end
	local endpoints = {}
	for i, ep in ipairs(eps) do
		endpoints[i] = endpoint_of(ep)
	end
	local timeout = conf.timeout or DEFAULT_TIMEOUT
	if mtype(timeout) ~= "integer" or timeout <= 0 then
		error("etcd.new: conf.timeout must be a positive integer (ms), got " .. tostring(timeout), 2)
	end
	local max = conf.max_response or DEFAULT_MAX_RESPONSE
	if mtype(max) ~= "integer" or max <= 0 then
		error("etcd.new: conf.max_response must be a positive integer (bytes), got " .. tostring(max), 2)
	end
	return setmetatable({
		endpoints = endpoints,
		current = 1, -- the endpoint in use, until it fails
		timeout = timeout,
		max = max,
		pool = {}, -- endpoint -> idle connections
		watchers = {}, -- watcher -> true
		closed = false,
	}, client)
end

local function rotate(cli)
	cli.current = cli.current % #cli.endpoints + 1
end

-- POSTs req (a table) to path and returns the decoded answer, or nil and
-- why. Tries each endpoint once (a stale idle connection does not count),
-- all within the client's timeout.
local function request(cli, path, req)
	if cli.closed then
		return nil, "etcd client closed"
	end
	local body = json.encode(req)
	local t0 = time.monotonic()
	local failures = {}
	local tries = #cli.endpoints
	while tries > 0 do
		local left = cli.timeout - (time.monotonic() - t0)
		if left <= 0 then
			failures[#failures + 1] = "timeout after " .. cli.timeout .. " ms"
			break
		end
		local ep = cli.endpoints[cli.current]
		local fd = gateway.take_idle(cli.pool, ep)
		local pooled = fd ~= nil
		local err
		if not fd then
			fd, err = gateway.connect(ep, left)
		end
		if fd then
			local status, data, reusable = gateway.exchange(fd, ep, path, body, left, cli.max)
			if status then
				if reusable then
					gateway.put_idle(cli.pool, ep, fd)
				else
					tcp.close(fd)
				end
				local res, jerr = json.decode(data)
				if type(res) ~= "table" then
					return nil, format("etcd %s: bad response (HTTP %d): %s", ep, status, jerr or "not a JSON object")
				elseif status == 200 then
					return res
				end
				local msg = res.message or res.error
				msg = type(msg) == "string" and msg or ("HTTP " .. status)
				if status ~= 503 then -- 503: this member cannot serve (no leader); others may
					return nil, "etcd: " .. msg
				end
				err = msg
			else
				tcp.close(fd)
				err = data
				if pooled and reusable then
					tries = tries + 1 -- the idle connection was stale: the request never left
				end
			end
		end
		failures[#failures + 1] = ep .. ": " .. err
		rotate(cli)
		tries = tries - 1
	end
	return nil, "etcd unreachable (" .. concat(failures, "; ") .. ")"
end

local function decode_bytes(s)
	if s == nil then
		return ""
	end
	return b64dec(s)
end

local function kv_of(k)
	local key, value = decode_bytes(k.key), decode_bytes(k.value)
	if not key or not value then
		return nil
	end
	return {
		key = key,
		value = value,
		create_revision = int(k.create_revision),
		mod_revision = int(k.mod_revision),
		version = int(k.version),
		lease = int(k.lease),
	}
end

local function revision_of(res)
	return type(res.header) == "table" and int(res.header.revision) or 0
end

function client:put(key, value, opts)
	check_string("etcd.put", "key", key)
	check_string("etcd.put", "value", value, true)
	opts = check_opts("etcd.put", opts)
	local req = {key = b64enc(key), value = b64enc(value)}
	if opts.lease ~= nil then
		req.lease = check_id("etcd.put", opts.lease)
	end
	local res, err = request(self, "/v3/kv/put", req)
	if not res then
		return nil, err
	end
	return revision_of(res)
end

function client:get(key, opts)
	check_string("etcd.get", "key", key)
	opts = check_opts("etcd.get", opts)
	local req = {key = b64enc(key)}
	if opts.prefix then
		req.range_end = b64enc(prefix_end(key))
	end
	if opts.limit ~= nil then
		if mtype(opts.limit) ~= "integer" or opts.limit < 0 then
			error("etcd.get: limit must be a non-negative integer", 2)
		end
		req.limit = format("%d", opts.limit)
	end
	if opts.revision ~= nil then
		if mtype(opts.revision) ~= "integer" or opts.revision < 0 then
			error("etcd.get: revision must be a non-negative integer", 2)
		end
		req.revision = format("%d", opts.revision)
	end
	local res, err = request(self, "/v3/kv/range", req)
	if not res then
		return nil, err
	end
	local kvs = {}
	if type(res.kvs) == "table" then
		for i, k in ipairs(res.kvs) do
			local kv = type(k) == "table" and kv_of(k)
			if not kv then
				return nil, "etcd: bad key-value in a range response"
			end
			kvs[i] = kv
		end
	end
	return kvs, revision_of(res)
end

function client:delete(key, opts)
	check_string("etcd.delete", "key", key)
	opts = check_opts("etcd.delete", opts)
	local req = {key = b64enc(key)}
	if opts.prefix then
		req.range_end = b64enc(prefix_end(key))
	end
	local res, err = request(self, "/v3/kv/deleterange", req)
	if not res then
		return nil, err
	end
	return int(res.deleted), revision_of(res)
end

-- A lease of ttl seconds: its id and the TTL etcd granted.
function client:grant(ttl)
	if mtype(ttl) ~= "integer" or ttl <= 0 then
		error("etcd.grant: ttl must be a positive integer (seconds), got " .. tostring(ttl), 2)
	end
	local res, err = request(self, "/v3/lease/grant", {TTL = format("%d", ttl)})
	if not res then
		return nil, err
	elseif type(res.error) == "string" and res.error ~= "" then
		return nil, "etcd: " .. res.error
	end
	local id = int(res.ID)
	if id == 0 then
		return nil, "etcd: lease grant answered without an id"
	end
	return id, int(res.TTL)
end

-- Renews the lease once: its TTL, or nil and "lease not found" when it has
-- expired or was revoked.
function client:keepalive(id)
	local sid = check_id("etcd.keepalive", id)
	local res, err = request(self, "/v3/lease/keepalive", {ID = sid})
	if not res then
		return nil, err
	end
	local r = res.result
	if type(r) ~= "table" then
		local e = type(res.error) == "table" and res.error.message
		return nil, "etcd: " .. (type(e) == "string" and e or "bad keepalive response")
	end
	local ttl = int(r.TTL)
	if ttl <= 0 then
		return nil, "lease not found"
	end
	return ttl
end

-- The seconds the lease has left, or nil and "lease not found".
function client:timetolive(id)
	local sid = check_id("etcd.timetolive", id)
	local res, err = request(self, "/v3/lease/timetolive", {ID = sid})
	if not res then
		return nil, err
	end
	local ttl = int(res.TTL)
	if ttl < 0 then
		return nil, "lease not found"
	end
	return ttl
end

function client:revoke(id)
	local sid = check_id("etcd.revoke", id)
	local res, err = request(self, "/v3/lease/revoke", {ID = sid})
	if not res then
		return nil, err
	end
	return true
end

---------------------------------------------------------------------------
-- Watches: one task and one streaming request each. The watcher keeps the
-- revision it will resume from (the last event's + 1) and opens the stream
-- again from there after any failure, on the next endpoint, with backoff.

local function with_traceback(e)
	return debug.traceback(tostring(e), 2)
end

local function deliver(w, ev)
	local ok, err = xpcall(w.fn, with_traceback, ev)
	if not ok then
		logger.error("[etcd] watch", w.key, "handler error:", err)
	end
end

local function event_of(ev)
	local k = type(ev) == "table" and type(ev.kv) == "table" and kv_of(ev.kv)
	if not k then
		return nil
	end
	k.type = ev.type == "DELETE" and "delete" or "put"
	return k
end

-- One message of the stream; true, or nil and why the stream must reopen.
local function on_message(w, line)
	local msg, jerr = json.decode(line)
	if type(msg) ~= "table" then
		return nil, "bad watch message: " .. (jerr or "not a JSON object")
	end
	if type(msg.error) == "table" then
		return nil, "etcd: " .. tostring(msg.error.message)
	end
	local res = msg.result
	if type(res) ~= "table" then
		return nil, "bad watch message: no result"
	end
	if res.created then
		w.created = true
		if not w.revision then
			w.revision = revision_of(res) + 1
		end
	end
	if res.canceled then
		local cr = int(res.compact_revision)
		if cr > 0 then
			-- The events from w.revision on are gone: say so, go on from
			-- the oldest one etcd still has.
			w.revision = cr
			deliver(w, {type = "compacted", revision = cr})
			return nil, "revision compacted, resuming at " .. cr
		end
		return nil, "canceled by etcd: " .. tostring(res.cancel_reason)
	end
	local events = res.events
	if type(events) == "table" and #events > 0 then
		local from = w.revision or 0
		local last = from - 1
		for _, e in ipairs(events) do
			local ev = event_of(e)
			if not ev then
				return nil, "bad watch event"
			end
			-- After a reopen, never an event twice.
			if ev.mod_revision >= from then
				if ev.mod_revision > last then
					last = ev.mod_revision
				end
				deliver(w, ev)
				if w.canceled then
					return nil, "canceled"
				end
			end
		end
		w.revision = last + 1
	elseif w.created and not res.created then
		-- A progress notice: every event up to its revision was sent.
		local r = revision_of(res)
		if r + 1 > (w.revision or 0) then
			w.revision = r + 1
		end
	end
	return true
end

local function watch_request(w)
	local create = {key = b64enc(w.key), progress_notify = true}
	if w.range_end then
		create.range_end = b64enc(w.range_end)
	end
	if w.revision then
		create.start_revision = format("%d", w.revision)
	end
	return json.encode({create_request = create})
end

-- Opens the stream on ep and reads it until it ends; returns why it ended.
local function watch_once(w, ep)
	local cli = w.cli
	local fd, err = gateway.connect(ep, cli.timeout)
	if not fd then
		return err
	end
	if w.canceled then
		tcp.close(fd)
		return "canceled"
	end
	w.fd = fd
	local pending, errbody = "", nil
	local function on_body(piece, status)
		if status ~= 200 then
			errbody = (errbody or "") .. piece
			if #errbody > 4096 then
				return nil, "HTTP " .. status .. " with an error body over 4096 bytes"
			end
			return true
		end
		pending = pending .. piece
		while true do
			local e = pending:find("\n", 1, true)
			if not e then
				break
			end
			local line = pending:sub(1, e - 1)
			pending = pending:sub(e + 1)
			if line ~= "" then
				local ok, why = on_message(w, line)
				if not ok then
					return nil, why
				end
				if w.created and w.failing then
					w.failing = false
					logger.info("[etcd] watch", w.key, "resumed on", ep, "at revision", w.revision)
				end
			end
		end
		if #pending > cli.max then
			return nil, "watch message over " .. cli.max .. " bytes"
		end
		return true
	end
	local status, rest = gateway.stream(fd, ep, "/v3/watch", watch_request(w), cli.timeout, on_body)
	local why
	if not status then
		why = rest
	elseif status ~= 200 then
		local res = json.decode(errbody or "")
		why = "HTTP " .. status .. (type(res) == "table" and type(res.message) == "string" and ": " .. res.message or "")
	else
		local _, e = rest()
		why = e
	end
	w.fd = nil
	tcp.close(fd)
	return why
end

local function run_watch(w)
	local cli = w.cli
	local wait = backoff.MIN
	while not w.canceled do
		local ep = cli.endpoints[cli.current]
		w.created = false
		local why = watch_once(w, ep)
		if w.canceled then
			break
		end
		if w.created then
			wait = backoff.MIN -- it had worked: try again at once
		end
		if not w.failing then
			w.failing = true
			logger.warn("[etcd] watch", w.key, "on", ep, "ended:", why, "- reopening from revision",
				w.revision or "now")
		end
		w.last_error = ep .. ": " .. tostring(why)
		rotate(cli)
		time.sleep(backoff.jitter(wait))
		wait = backoff.next(wait)
	end
end

-- Watches the keys under `prefix` (or the one key, with {prefix = false})
-- from opts.revision, or from now. fn(event) runs for each change in
-- order, event = {type = "put"|"delete", key, value, mod_revision, ...};
-- {type = "compacted", revision = r} says the events before r are lost.
-- Returns the watcher: w.revision is where it resumes, w:cancel() stops it.
function client:watch(prefix, fn, opts)
	check_string("etcd.watch", "prefix", prefix)
	if type(fn) ~= "function" then
		error("etcd.watch: function expected, got " .. type(fn), 2)
	end
	opts = check_opts("etcd.watch", opts)
	if opts.revision ~= nil and (mtype(opts.revision) ~= "integer" or opts.revision <= 0) then
		error("etcd.watch: revision must be a positive integer, got " .. tostring(opts.revision), 2)
	end
	if self.closed then
		error("etcd.watch: the client is closed", 2)
	end
	local w = setmetatable({
		cli = self,
		key = prefix,
		range_end = opts.prefix ~= false and prefix_end(prefix) or nil,
		fn = fn,
		revision = opts.revision,
		created = false,
		failing = false,
		canceled = false,
		fd = nil,
	}, watcher)
	self.watchers[w] = true
	silly.fork(function()
		run_watch(w)
	end)
	return w
end

function watcher:cancel()
	if self.canceled then
		return
	end
	self.canceled = true
	self.cli.watchers[self] = nil
	if self.fd then
		tcp.close(self.fd)
		self.fd = nil
	end
end

-- Stops every watch and closes idle connections; requests fail after.
function client:close()
	self.closed = true
	for w in pairs(self.watchers) do
		w:cancel()
	end
	gateway.close_idle(self.pool)
end

M.prefix_end = prefix_end

-- The original framework's client: etcd.newclient{endpoints = , retry = ,
-- retry_sleep = , timeout = } with put{}, get{}, delete{}, grant{} ...
-- taking and returning etcd's own request and response tables
-- (silly/store/etcd/compat.lua).
function M.newclient(conf)
	local internals = {new = M.new, request = request, kv_of = kv_of, int = int}
	return require("silly.store.etcd.compat").newclient(conf, internals)
end

return M
