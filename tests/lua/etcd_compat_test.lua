-- The original framework's etcd client form, etcd.newclient{} with
-- put{}/get{}/delete{}/grant{}..., against a real etcd server started here:
-- its request tables in, etcd's response tables out.
local time = require "silly.time"
local etcd = require "silly.store.etcd"
local T = require "testaux"
local E = require "etcdaux"

T.run(function()
	local server = E.new("etcd-compat")
	local c = etcd.newclient {endpoints = {server.endpoint}, retry = 2, retry_sleep = 100, timeout = 3000}

	local res = T.ok(c:put {key = "/game/a", value = "1"})
	T.ok(math.type(res.header.revision) == "integer" and res.header.revision > 0, "header.revision is an integer")
	T.ok(c:put {key = "/game/b", value = "\0binary\255"})
	T.ok(c:put {key = "/gamer", value = "x"})
	res = T.ok(c:put {key = "/game/a", value = "2", prev_kv = true})
	T.eq(res.prev_kv.value, "1", "prev_kv: the value before")

	res = T.ok(c:get {key = "/game/a"})
	T.eq(#res.kvs, 1)
	T.eq(res.kvs[1].key, "/game/a")
	T.eq(res.kvs[1].value, "2")
	T.eq(res.kvs[1].version, 2)
	T.eq(res.count, 1)
	res = T.ok(c:get {key = "/game/", prefix = true})
	T.eq(#res.kvs, 2, "prefix: /game/a and /game/b, not /gamer")
	T.eq(res.kvs[2].value, "\0binary\255", "bytes come back as they went")
	res = T.ok(c:get {key = "/game/", prefix = true, sort_order = "DESCEND", sort_target = "KEY", limit = 1})
	T.eq(res.kvs[1].key, "/game/b", "sorted descending, one")
	T.eq(res.more, true)
	res = T.ok(c:get {key = "/game", fromkey = true, count_only = true})
	T.eq(res.count, 3, "fromkey: every key from /game on")
	T.eq(res.kvs, nil)
	res = T.ok(c:get {key = "/nothing"})
	T.eq(res.kvs, nil, "no key: no kvs, as etcd sends")
	T.eq(res.count, 0)

	-- Leases: granted ones are kept alive until revoked.
	res = T.ok(c:grant {TTL = 2})
	local id = res.ID
	T.ok(math.type(id) == "integer" and id ~= 0, "the lease id is an integer")
	T.eq(res.TTL, 2)
	T.ok(c:put {key = "/lease/k", value = "v", lease = id})
	time.sleep(3500)
	res = T.ok(c:get {key = "/lease/k"})
	T.eq(#res.kvs, 1, "kept alive past its TTL")
	res = T.ok(c:ttl {ID = id, keys = true})
	T.eq(res.keys[1], "/lease/k")
	T.eq(res.grantedTTL, 2)
	res = T.ok(c:leases())
	T.ok(#res.leases >= 1 and res.leases[1].ID == id, "leases lists it")
	local ka = T.ok(c:keepalive {ID = id})
	T.eq(ka.ID, id)
	T.eq(ka.TTL, 2)
	T.ok(c:revoke {ID = id})
	res = T.ok(c:get {key = "/lease/k"})
	T.eq(res.kvs, nil, "revoked: its key went with it")
	ka = T.ok(c:keepalive {ID = id})
	T.eq(ka.TTL, 0, "a revoked lease renews to nothing (etcd leaves the zero out)")

	res = T.ok(c:delete {key = "/game/", prefix = true, prev_kv = true})
	T.eq(res.deleted, 2)
	T.eq(#res.prev_kvs, 2)
	local rev = T.ok(c:get {key = "/gamer"}).header.revision
	T.ok(c:compact {revision = rev})

	-- Mistakes: named errors; a dead endpoint: nil and why after retries.
	T.raises(function() c:put "x" end, "etcd.put: request table expected, got string")
	T.raises(function() c:put {key = 1, value = "v"} end, "etcd.put: key must be a string, got number")
	T.raises(function() c:grant {TTL = "5"} end, "etcd.grant: TTL must be an integer, got string")
	T.raises(function() etcd.newclient {endpoints = {}} end, "etcd.newclient: conf.endpoints must be a non-empty list")
	local dead = etcd.newclient {endpoints = {"127.0.0.1:1"}, retry = 2, retry_sleep = 10, timeout = 500}
	local t0 = time.monotonic()
	local none, err = dead:get {key = "k"}
	T.eq(none, nil)
	T.ok(err:find("etcd unreachable", 1, true), err)
	T.ge(time.monotonic() - t0, 10, "it waited retry_sleep between its tries")
	c:close()
	server:stop()
end)
