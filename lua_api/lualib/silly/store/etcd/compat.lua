-- The original framework's etcd client on silly's (silly.store.etcd):
--
--   local c = etcd.newclient{endpoints = {"127.0.0.1:2379"}, retry = 5, retry_sleep = 1000, timeout = 3000}
--   c:put{key = , value = , lease = , prev_kv = , ignore_value = , ignore_lease = }
--   c:get{key = , prefix = , fromkey = , limit = , revision = , sort_order = , sort_target = ,
--         keys_only = , count_only = , serializable = , min/max_mod/create_revision = }
--   c:delete{key = , prefix = , fromkey = , prev_kv = }
--   c:compact{revision = , physical = }
--   c:grant{TTL = , ID = }   (kept alive every second until c:revoke{ID = })
--   c:revoke{ID = };  c:ttl{ID = , keys = };  c:leases();  c:keepalive{ID = }
--
-- Each takes etcd's request table and returns its response table (header,
-- kvs with key/value as bytes and revisions as integers, count, more,
-- deleted, prev_kv(s), ID, TTL ...), or nil and why, after `retry` tries
-- `retry_sleep` ms apart, as there. Requests go to etcd's HTTP/JSON gateway
-- instead of gRPC; watch, lock and unlock are silly's own
-- (client:watch, docs/discovery.md) and are not offered in this form.
local time = require "silly.time"
local logger = require "silly.logger"
local base64 = require "silly.encoding.base64"

local b64enc, b64dec = base64.encode, base64.decode
local format, type, pairs = string.format, type, pairs

local M = {}

local client = {}
client.__index = client
client.__name = "etcd.compat_client"

-- The fields of requests that are bytes (base64 on the gateway) and
-- int64 (strings on the gateway); the rest pass as they are.
local BYTES = {key = true, value = true, range_end = true}
local INT64 = {
	lease = true, limit = true, revision = true, min_mod_revision = true, max_mod_revision = true,
	min_create_revision = true, max_create_revision = true, TTL = true, ID = true,
}
-- Fields of responses that etcd sends as int64 strings.
local INT_OUT = {
	count = true, deleted = true, ID = true, TTL = true, grantedTTL = true, revision = true, cluster_id = true,
	member_id = true, raft_term = true,
}

-- Loaded by etcd.newclient, once silly.store.etcd is; set by newclient
-- from the client's own internals (one int64 reading, one key-value shape).
local prefix_end = require("silly.store.etcd").prefix_end
local int, kv_of

-- req as the original took it -> the gateway's JSON request.
local function wire_request(fname, req)
	if type(req) ~= "table" then
		error(fname .. ": request table expected, got " .. type(req), 3)
	end
	local out = {}
	for k, v in pairs(req) do
		if k == "prefix" or k == "fromkey" then -- options, not fields
			goto continue
		elseif BYTES[k] then
			if type(v) ~= "string" then
				error(fname .. ": " .. k .. " must be a string, got " .. type(v), 3)
			end
			out[k] = b64enc(v)
		elseif INT64[k] then
			if math.type(v) ~= "integer" then
				error(fname .. ": " .. k .. " must be an integer, got " .. type(v), 3)
			end
			out[k] = format("%d", v)
		else
			out[k] = v
		end
		::continue::
	end
	local key = req.key
	if req.prefix then
		if key == nil or key == "" then
			out.key, out.range_end = b64enc("\0"), b64enc("\0")
		else
			out.range_end = b64enc(prefix_end(key))
		end
	elseif req.fromkey then
		if key == nil or key == "" then
			out.key = b64enc("\0")
		end
		out.range_end = b64enc("\0")
	end
	return out
end

-- The gateway's JSON response -> the table the original's gRPC gave.
local function response(res)
	local out = {}
	for k, v in pairs(res) do
		if (k == "kvs" or k == "prev_kvs") and type(v) == "table" then
			local list = {}
			for i, kv in ipairs(v) do
				list[i] = kv_of(kv)
			end
			out[k] = list
		elseif k == "prev_kv" and type(v) == "table" then
			out[k] = kv_of(v)
		elseif k == "header" and type(v) == "table" then
			out[k] = response(v)
		elseif k == "keys" and type(v) == "table" then -- ttl{keys = true}: the lease's keys
			local list = {}
			for i, key in ipairs(v) do
				list[i] = b64dec(key)
			end
			out[k] = list
		elseif k == "leases" and type(v) == "table" then
			local list = {}
			for i, l in ipairs(v) do
				list[i] = {ID = int(l.ID)}
			end
			out[k] = list
		elseif INT_OUT[k] then
			out[k] = int(v)
		else
			out[k] = v
		end
	end
	return out
end

-- etcd's JSON leaves out fields at their zero value; gRPC's decoding gave
-- them, and scripts compare them.
local ZEROS = {
	["/v3/kv/range"] = {count = 0, more = false},
	["/v3/kv/deleterange"] = {deleted = 0},
}

local function call(self, fname, path, req)
	local body = wire_request(fname, req or {})
	local res, err
	for i = 1, self.retry do
		res, err = self.request(self.cli, path, body)
		if res then
			local out = response(res)
			for k, v in pairs(ZEROS[path] or {}) do
				if out[k] == nil then
					out[k] = v
				end
			end
			return out
		end
		if i < self.retry then
			time.sleep(self.retry_sleep)
		end
	end
	return nil, err
end

-- internals: silly.store.etcd's new, request, kv_of and int.
function M.newclient(conf, internals)
	int, kv_of = internals.int, internals.kv_of
	local new, request = internals.new, internals.request
	if type(conf) ~= "table" then
		error("etcd.newclient: conf table expected, got " .. type(conf), 3)
	end
	local retry, retry_sleep = conf.retry or 5, conf.retry_sleep or 1000
	if math.type(retry) ~= "integer" or retry < 1 then
		error("etcd.newclient: conf.retry must be a positive integer, got " .. tostring(retry), 3)
	end
	if math.type(retry_sleep) ~= "integer" or retry_sleep < 0 then
		error("etcd.newclient: conf.retry_sleep must be a non-negative integer (ms), got " .. tostring(retry_sleep), 3)
	end
	local ok, cli = pcall(new, {endpoints = conf.endpoints, timeout = conf.timeout})
	if not ok then
		error((tostring(cli):gsub("etcd%.new:", "etcd.newclient:")), 3)
	end
	return setmetatable({
		cli = cli, request = request, retry = retry, retry_sleep = retry_sleep,
		leases_kept = {}, keeping = false,
	}, client)
end

function client:put(req)
	return call(self, "etcd.put", "/v3/kv/put", req)
end

function client:get(req)
	return call(self, "etcd.get", "/v3/kv/range", req)
end

function client:delete(req)
	return call(self, "etcd.delete", "/v3/kv/deleterange", req)
end

function client:compact(req)
	return call(self, "etcd.compact", "/v3/kv/compaction", req)
end

-- Every granted lease is renewed once a second until revoked, as the
-- original did.
local function keep_leases(self)
	local any = false
	for id in pairs(self.leases_kept) do
		any = true
		local res, err = self.request(self.cli, "/v3/lease/keepalive", {ID = format("%d", id)})
		if not res then
			logger.error("[etcd] lease keepalive", id, "failed:", err)
		end
	end
	self.keeping = any
	if any then
		time.after(1000, function() keep_leases(self) end)
	end
end

function client:grant(req)
	local res, err = call(self, "etcd.grant", "/v3/lease/grant", req)
	if res and res.ID then
		self.leases_kept[res.ID] = true
		if not self.keeping then
			self.keeping = true
			time.after(1000, function() keep_leases(self) end)
		end
	end
	return res, err
end

function client:revoke(req)
	if type(req) == "table" and req.ID then
		self.leases_kept[req.ID] = nil
	end
	return call(self, "etcd.revoke", "/v3/lease/revoke", req)
end

function client:ttl(req)
	return call(self, "etcd.ttl", "/v3/lease/timetolive", req)
end

function client:leases()
	return call(self, "etcd.leases", "/v3/lease/leases", {})
end

-- One renewal: {ID = , TTL = } (the result of etcd's keepalive stream).
function client:keepalive(req)
	local res, err = call(self, "etcd.keepalive", "/v3/lease/keepalive", req)
	if not res then
		return nil, err
	end
	local r = res.result
	if type(r) ~= "table" then
		return nil, "etcd: bad keepalive response"
	end
	return {ID = int(r.ID), TTL = int(r.TTL), header = r.header and response(r.header)}
end

function client:close()
	self.leases_kept = {}
	self.cli:close()
end

return M
