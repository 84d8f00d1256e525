-- silly.store.etcd against a real etcd server started here, and against
-- fake gateways that answer garbage, cut a watch stream short, or never
-- answer.
local silly = require "silly"
local time = require "silly.time"
local tcp = require "silly.net.tcp"
local etcd = require "silly.store.etcd"
local base64 = require "silly.encoding.base64"
local T = require "testaux"
local E = require "etcdaux"

-- Waits (10 s at most) until cond() holds.
local function eventually(cond, what)
	for _ = 1, 1000 do
		if cond() then
			return
		end
		time.sleep(10)
	end
	T.fail(what .. ": not within 10 s")
end

local function base64_checks()
	T.eq(base64.encode(""), "")
	T.eq(base64.encode("\0\1\2\255"), "AAEC/w==")
	T.eq(base64.decode("AAEC/w=="), "\0\1\2\255")
	for _, bad in ipairs({"A", "A===", "AA=A", " AAA", "AAAA\n", "AA-_", "AAAAA==="}) do
		local v, err = base64.decode(bad)
		T.eq(v, nil, "decode(" .. bad .. ")")
		T.eq(err, "invalid base64")
	end
	for n = 0, 70 do
		local s = {}
		for i = 1, n do
			s[i] = string.char((i * 37 + n) % 256)
		end
		s = table.concat(s)
		T.eq(base64.decode(base64.encode(s)), s)
	end
end

local function argument_checks(cli)
	T.raises(function() etcd.new() end, "etcd.new: conf table expected")
	T.raises(function() etcd.new {endpoints = {}} end, "etcd.new: conf.endpoints must be a non-empty list")
	T.raises(function() etcd.new {endpoints = {"localhost"}} end, "needs host:port")
	T.raises(function() etcd.new {endpoints = {"https://a:1"}} end, "only plain http")
	T.raises(function() etcd.new {endpoints = {"a:1"}, timeout = 0} end, "etcd.new: conf.timeout")
	T.raises(function() cli:put("", "v") end, "etcd.put: key must be a non-empty string")
	T.raises(function() cli:put("k", 1) end, "etcd.put: value must be a string")
	T.raises(function() cli:put("k", "v", {lease = "x"}) end, "etcd.put: lease id must be an integer")
	T.raises(function() cli:get(nil) end, "etcd.get: key must be")
	T.raises(function() cli:get("k", {limit = -1}) end, "etcd.get: limit")
	T.raises(function() cli:delete("k", 5) end, "etcd.delete: options must be a table")
	T.raises(function() cli:grant(0) end, "etcd.grant: ttl must be a positive integer")
	T.raises(function() cli:keepalive(1.5) end, "etcd.keepalive: lease id must be an integer")
	T.raises(function() cli:revoke() end, "etcd.revoke: lease id")
	T.raises(function() cli:watch("k") end, "etcd.watch: function expected")
	T.raises(function() cli:watch("k", print, {revision = 0}) end, "etcd.watch: revision")
end

local function kv_checks(cli)
	T.ok(cli:delete("/t/", {prefix = true}))
	local r1 = T.ok(cli:put("/t/a", "1"))
	local r2 = T.ok(cli:put("/t/b", "\0binary\255"))
	T.ok(cli:put("/tz", "outside the prefix"))
	T.eq(r2, r1 + 1, "revisions grow one a write")
	local kvs, rev = cli:get("/t/", {prefix = true})
	T.eq(#kvs, 2)
	T.eq(rev, r2 + 1)
	T.eq(kvs[1].key, "/t/a")
	T.eq(kvs[1].value, "1")
	T.eq(kvs[1].mod_revision, r1)
	T.eq(kvs[2].value, "\0binary\255")
	T.eq(#cli:get("/t/a"), 1, "a single key")
	T.eq(#cli:get("/t/missing"), 0, "a missing key: no values")
	T.eq(#cli:get("/t/", {prefix = true, limit = 1}), 1, "limit")
	T.eq(cli:get("/t/a", {revision = r1})[1].value, "1", "an older revision")
	T.eq(etcd.prefix_end("a\255\255"), "b")
	T.eq(etcd.prefix_end("\255"), "\0")
	local n = cli:delete("/t/", {prefix = true})
	T.eq(n, 2, "deleted under the prefix")
	T.eq(#cli:get("/tz"), 1, "the key beside the prefix stays")
	T.eq(cli:delete("/tz"), 1)

	-- Leases: grant, keep alive, keys that go with the lease, revoke.
	local id, ttl = cli:grant(30)
	T.eq(math.type(id), "integer")
	T.ok(id > 0xffffffff, "lease ids use their 64 bits: " .. id)
	T.eq(ttl, 30)
	T.eq(cli:keepalive(id), 30)
	T.ok(cli:timetolive(id) > 25)
	T.ok(cli:put("/t/leased", "x", {lease = id}))
	T.eq(cli:get("/t/leased")[1].lease, id)
	T.eq(cli:revoke(id), true)
	T.eq(#cli:get("/t/leased"), 0, "revoking a lease deletes its keys")
	local v, err = cli:keepalive(id)
	T.eq(v, nil)
	T.eq(err, "lease not found")
	v, err = cli:revoke(id)
	T.eq(v, nil)
	T.ok(err:find("lease not found", 1, true), err)
	v, err = cli:put("/t/x", "y", {lease = 12345})
	T.eq(v, nil)
	T.ok(err:find("^etcd: .*lease not found"), err)
end

-- Events arrive once each, in order; a watch from a revision replays what
-- it missed; a canceled watch stops.
local function watch_checks(cli)
	local seen = {}
	local w = cli:watch("/w/", function(ev)
		seen[#seen + 1] = ev.type .. " " .. ev.key .. "=" .. ev.value
	end)
	eventually(function() return w.created end, "watch created")
	local first = T.ok(cli:put("/w/1", "a"))
	T.ok(cli:put("/w/2", "b"))
	T.ok(cli:put("/other", "not watched"))
	T.ok(cli:put("/w/1", "c"))
	T.ok(cli:delete("/w/2"))
	eventually(function() return #seen == 4 end, "four events")
	T.deepeq(seen, {"put /w/1=a", "put /w/2=b", "put /w/1=c", "delete /w/2="})
	w:cancel()
	T.ok(cli:put("/w/3", "after cancel"))

	local replay = {}
	local w2 = cli:watch("/w/", function(ev)
		replay[#replay + 1] = ev.key .. "@" .. ev.mod_revision
	end, {revision = first + 1})
	eventually(function() return #replay == 4 end, "replayed events")
	time.sleep(100)
	T.eq(#replay, 4, "no event twice")
	T.eq(replay[1], "/w/2@" .. (first + 1))
	T.eq(replay[4], "/w/3@" .. (first + 5))
	w2:cancel()

	-- A handler that raises is logged; the watch goes on.
	local after = 0
	local w3 = cli:watch("/e/", function(ev)
		if ev.value == "boom" then
			error("handler failure")
		end
		after = after + 1
	end)
	eventually(function() return w3.created end, "watch created")
	T.ok(cli:put("/e/1", "boom"))
	T.ok(cli:put("/e/2", "fine"))
	eventually(function() return after == 1 end, "the event after a failing handler")
	w3:cancel()
end

-- A fake gateway: each connection gets `reply(fd, request_head)`.
local function fake(reply)
	local lid = tcp.listen("127.0.0.1:0", function(fd)
		local head = tcp.readline(fd, "\r\n\r\n")
		if head then
			local len = tonumber(head:match("[Cc]ontent%-[Ll]ength: (%d+)")) or 0
			tcp.read(fd, len)
			reply(fd, head)
		end
	end)
	return tcp.sockname(lid), lid
end

local function bad_gateway_checks()
	local function ask(addr, timeout)
		local c = etcd.new {endpoints = {addr}, timeout = timeout or 1000, max_response = 64 * 1024}
		local v, err = c:get("/k")
		c:close()
		T.eq(v, nil, "an answer from a broken gateway")
		return err
	end
	local garbage = fake(function(fd)
		tcp.write(fd, "SSH-2.0-OpenSSH\r\n\r\n")
		tcp.close(fd)
	end)
	local err = ask(garbage)
	T.ok(err:find("bad response: not an HTTP/1.x status line", 1, true), err)

	local notjson = fake(function(fd)
		tcp.write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
	end)
	err = ask(notjson)
	T.ok(err:find("bad response (HTTP 200)", 1, true), err)

	local short = fake(function(fd)
		tcp.write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"kvs\":")
		tcp.close(fd)
	end)
	err = ask(short)
	T.ok(err:find("response body cut short", 1, true), err)

	local huge = fake(function(fd)
		tcp.write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" .. string.rep("x", 1000000))
	end)
	err = ask(huge)
	T.ok(err:find("response over 65536 bytes", 1, true), err)

	local endless_head = fake(function(fd)
		tcp.write(fd, "HTTP/1.1 200 OK\r\nX: " .. string.rep("y", 100000))
	end)
	err = ask(endless_head)
	T.ok(err:find("response head over", 1, true), err)

	local silent = fake(function(fd)
		tcp.read(fd, 1) -- until the client gives up and closes
		tcp.close(fd)
	end)
	local t0 = time.monotonic()
	err = ask(silent, 300)
	T.ok(err:find("timeout after 300 ms", 1, true), err)
	T.le(time.monotonic() - t0, 3000, "a silent endpoint costs the timeout")

	local app_error = fake(function(fd)
		local body = '{"error":"bad","message":"etcdserver: too many operations","code":3}'
		tcp.write(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body)
	end)
	T.eq(ask(app_error), "etcd: etcdserver: too many operations")

	-- Nothing listens: refused, named.
	local dead = tcp.listen("127.0.0.1:0", function() end)
	local dead_addr = tcp.sockname(dead)
	tcp.close(dead)
	err = ask(dead_addr)
	T.ok(err:find("etcd unreachable (" .. dead_addr .. ": connect:", 1, true), err)
end

-- A watch whose stream is cut short or is garbage opens it again from
-- its revision; a message larger than max_response ends the stream, not
-- the process.
local function bad_watch_checks()
	local opened = 0
	local function event(rev, key)
		return string.format('{"result":{"header":{"revision":"%d"},"events":[{"kv":{"key":"%s","value":"",' ..
			'"mod_revision":"%d"}}]}}\n', rev, base64.encode(key), rev)
	end
	local addr = fake(function(fd)
		opened = opened + 1
		local head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		local created = '{"result":{"header":{"revision":"10"},"created":true}}\n'
		local body = created .. event(10 + opened, "/k" .. opened)
		if opened == 1 then
			-- one event, then a chunk cut in the middle
			tcp.write(fd, head .. string.format("%x\r\n%s\r\n", #body, body) .. "40\r\n{\"res")
		elseif opened == 2 then
			tcp.write(fd, head .. string.format("%x\r\n%s\r\n", #body, body) .. "5\r\nnope\n\r\n")
		elseif opened == 3 then
			tcp.write(fd, head .. "zz\r\n")
		elseif opened == 4 then
			local big = string.rep("x", 70000)
			tcp.write(fd, head .. string.format("%x\r\n%s\r\n", #big, big))
		else
			tcp.write(fd, head .. string.format("%x\r\n%s\r\n", #body, body))
			tcp.read(fd, 1) -- until the watch is canceled
		end
		time.sleep(50)
		tcp.close(fd)
	end)
	local c = etcd.new {endpoints = {addr}, timeout = 1000, max_response = 64 * 1024}
	local keys = {}
	local w = c:watch("/k", function(ev)
		keys[#keys + 1] = ev.key
	end)
	eventually(function() return opened >= 5 and #keys >= 3 end, "the watch reopened after each broken stream")
	T.deepeq(keys, {"/k1", "/k2", "/k5"})
	T.eq(w.revision, 16, "resumes after the last event")
	c:close()
	T.eq(w.canceled, true)

	-- An endpoint that accepts a watch and never answers: the request
	-- times out and is tried again, until canceled.
	local asked = 0
	local silent = fake(function(fd)
		asked = asked + 1
		tcp.read(fd, 1)
		tcp.close(fd)
	end)
	local s = etcd.new {endpoints = {silent}, timeout = 200}
	local sw = s:watch("/k", function() T.fail("an event from a silent endpoint") end)
	eventually(function() return asked >= 2 end, "the silent watch asked again")
	T.ok(sw.last_error:find("timeout after 200 ms", 1, true), sw.last_error)
	s:close()
end

-- A watch on prefix sees five puts, then interrupt() breaks etcd in some
-- way and mends it, then five more puts: the watch has all ten, once each,
-- in order.
local function watch_across(cli, prefix, interrupt)
	local got = {}
	local w = cli:watch(prefix, function(ev)
		got[#got + 1] = ev.key
	end)
	eventually(function() return w.created end, "watch created")
	for i = 1, 5 do
		T.ok(cli:put(prefix .. "a" .. i, "v"))
	end
	eventually(function() return #got == 5 end, "events before the interruption")
	interrupt()
	-- A cluster that lost its leader makes writes wait for the others to
	-- elect one (etcd's own time, longer on a busy machine): the first put
	-- may be retried.
	local ok, err
	for _ = 1, 20 do
		ok, err = cli:put(prefix .. "b1", "v")
		if ok then
			break
		end
	end
	T.ok(ok, "a put after the interruption: " .. tostring(err))
	for i = 2, 5 do
		ok, err = cli:put(prefix .. "b" .. i, "v")
		T.ok(ok, "a put after the interruption: " .. tostring(err))
	end
	eventually(function() return #got == 10 end, "events after the interruption")
	time.sleep(200)
	T.eq(#got, 10, "no event repeated after the watch reopened")
	for i = 1, 5 do
		T.eq(got[i], prefix .. "a" .. i)
		T.eq(got[5 + i], prefix .. "b" .. i)
	end
end

-- Two endpoints, the first dead: requests go to the second. Then etcd is
-- killed and started again.
local function outage_checks(server)
	local dead = tcp.listen("127.0.0.1:0", function() end)
	local dead_addr = tcp.sockname(dead)
	tcp.close(dead)
	local cli = etcd.new {endpoints = {dead_addr, server.endpoint}, timeout = 2000}
	T.ok(cli:put("/o/0", "x"), "failover to the second endpoint")
	watch_across(cli, "/o/", function()
		server:stop()
		local v, err = cli:put("/o/down", "x")
		T.eq(v, nil)
		T.ok(err:find("etcd unreachable", 1, true), err)
		server:start()
	end)
	cli:close()
end

-- A three-member etcd cluster: the member in use is killed; requests and
-- the watch go on through the others.
local function cluster_checks()
	local ms = E.cluster(3, "etcd-cluster")
	local cli = etcd.new {endpoints = {ms[1].endpoint, ms[2].endpoint, ms[3].endpoint}, timeout = 3000}
	local used
	watch_across(cli, "/c/", function()
		used = cli.current
		ms[used]:stop()
	end)
	T.ok(cli.current ~= used, "the client moved to another member")
	cli:close()
	for _, m in ipairs(ms) do
		if m.pid then
			m:stop()
		end
	end
end

-- Tasks alive (finished coroutines kept for reuse are not).
local function live_tasks()
	local n = 0
	for _, t in pairs(silly.tasks()) do
		if t.status ~= "EXIT" then
			n = n + 1
		end
	end
	return n
end

T.run(function()
	base64_checks()
	cluster_checks()
	local server = E.new()
	local cli = etcd.new {endpoints = {server.endpoint}}
	argument_checks(cli)
	kv_checks(cli)
	watch_checks(cli)
	local tasks = live_tasks()
	bad_gateway_checks()
	bad_watch_checks()
	for _ = 1, 1000 do
		if live_tasks() <= tasks then
			break
		end
		time.sleep(10)
	end
	if live_tasks() > tasks then
		for _, t in pairs(silly.tasks()) do
			print(t.status, t.traceback)
		end
		T.fail("tasks left behind by broken gateways: " .. live_tasks() .. " > " .. tasks)
	end
	outage_checks(server)
	cli:close()
end, 180000)
