-- silly.store.redis against a real redis-server started here (loopback, a
-- temporary directory, a password): commands, errors, pipelining of
-- concurrent calls, the pipeline API, and the link's faults (a killed
-- server fails what waits at once and the next call reconnects; a stopped
-- one times out).
local time = require "silly.time"
local redis = require "silly.store.redis"
local waitgroup = require "silly.sync.waitgroup"
local T = require "testaux"

local tmp = os.getenv("TEST_TMPDIR") or "/tmp"
local dir = tmp .. "/redis_data"
os.execute("mkdir -p " .. dir)

local function start_server(port)
	local p = io.popen(string.format("redis-server --port %d --bind 127.0.0.1 --dir %s --save '' --appendonly no " ..
		"--requirepass s3cret >%s/redis.log 2>&1 & echo $!", port, dir, dir))
	local pid = tonumber(p:read("l"))
	p:close()
	T.adopt(pid)
	for _ = 1, 500 do
		local r = io.popen(string.format("redis-cli -p %d -a s3cret --no-auth-warning ping 2>/dev/null", port))
		local out = r:read("a")
		r:close()
		if out:find("PONG", 1, true) then
			return pid
		end
		time.sleep(10)
	end
	T.fail("redis-server did not start")
end

T.run(function()
	local port = T.port()
	local pid = start_server(port)
	local addr = "127.0.0.1:" .. port
	local db = redis.new {addr = addr, auth = "s3cret", db = 3}
	T.deepeq({db:flushdb()}, {true, "OK"}, "FLUSHDB")
	T.deepeq({db:ping()}, {true, "PONG"}, "PING")
	T.deepeq({db:set("k", "v")}, {true, "OK"}, "SET")
	T.deepeq({db:get("k")}, {true, "v"}, "GET")
	T.deepeq({db:get("missing")}, {true, nil}, "GET of a missing key: nil")
	T.deepeq({db:incrby("n", 41)}, {true, 41}, "an integer reply")
	T.deepeq({db:set("bin", "\0\r\n\255")}, {true, "OK"}, "binary value")
	T.deepeq({db:get("bin")}, {true, "\0\r\n\255"}, "binary back")
	T.deepeq({db:rpush("list", "a", "b", "c")}, {true, 3}, "RPUSH of three")
	local ok, list = db:lrange("list", 0, -1)
	T.ok(ok, "LRANGE")
	T.deepeq(list, {"a", "b", "c"}, "an array reply")
	T.deepeq({db:hset{"h", "f", "1"}}, {true, 1}, "arguments as a table")
	local bad, why = db:strlen("list")
	T.eq(bad, false, "an error reply")
	T.ok(why:find("WRONGTYPE", 1, true), "its text: " .. tostring(why))
	T.eq(db:call("get", "k"), true, "call by name")
	T.raises(function() db:select(1) end, "redis.new{db = }", "SELECT is refused")

	-- The database chosen by redis.new is the one in use.
	local other = redis.new {addr = addr, auth = "s3cret", db = 4}
	T.deepeq({other:get("k")}, {true, nil}, "db 4 does not see db 3's key")
	other:close()
	local noauth = redis.new {addr = addr}
	local nok, nerr = noauth:get("k")
	T.eq(nok, false, "without the password")
	T.ok(nerr:find("NOAUTH", 1, true), "NOAUTH: " .. tostring(nerr))
	noauth:close()

	-- Concurrent calls share one connection, replies in order.
	db:del("ctr")
	local wg = waitgroup.new()
	local seen = {}
	for _ = 1, 2000 do
		wg:fork(function()
			local iok, v = db:incr("ctr")
			T.ok(iok, "INCR")
			seen[v] = true
		end)
	end
	wg:wait()
	T.eq(#seen, 2000, "2000 concurrent INCRs, each a distinct value")
	local ret = {}
	T.deepeq({db:pipeline({{"set", "p1", "x"}, {"get", "p1"}, {"lpop", "p1"}}, ret)}, {true, 6}, "pipeline")
	T.deepeq({ret[1], ret[2], ret[3], ret[4], ret[5]}, {true, "OK", true, "x", false}, "pipeline results in order")
	T.deepeq({db:pipeline({{"incr", "pn"}, {"incr", "pn"}})}, {true, 2}, "pipeline without ret: the last reply")

	-- A stopped server: calls time out and the link closes.
	local slow = redis.new {addr = addr, auth = "s3cret", db = 3, timeout = 300}
	T.deepeq({slow:ping()}, {true, "PONG"}, "before the stop")
	os.execute("kill -STOP " .. pid)
	local start = time.monotonic()
	T.deepeq({slow:ping()}, {false, "timeout"}, "a stopped server: timeout")
	T.le(time.monotonic() - start, 3000, "within ten times the timeout")
	os.execute("kill -CONT " .. pid)
	T.deepeq({slow:ping()}, {true, "PONG"}, "the next call connects again")
	slow:close()

	-- A killed server: what waits fails at once; a restart is found again.
	local pending = {}
	wg = waitgroup.new()
	for i = 1, 5 do
		wg:fork(function()
			pending[i] = {db:blpop("never", 0)}
		end)
	end
	time.sleep(100)
	start = time.monotonic()
	T.kill(pid, "KILL")
	wg:wait()
	T.le(time.monotonic() - start, 3000, "pending calls failed at once")
	for i = 1, 5 do
		T.deepeq(pending[i], {false, "disconnected"}, "pending call " .. i)
	end
	local dok, derr = db:ping()
	T.eq(dok, false, "no server")
	T.ok(derr, "a reason: " .. tostring(derr))
	start_server(port)
	T.deepeq({db:ping()}, {true, "PONG"}, "reconnected after the restart")
	T.deepeq({db:get("k")}, {true, nil}, "AUTH and SELECT again (a fresh server: empty)")
	db:close()
	T.raises(function() redis.new("127.0.0.1:1") end, "redis.new: a table", "a bad config")
end)
