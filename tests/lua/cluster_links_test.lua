-- Links that survive real networks (opt-in options of cluster.new): per-call
-- timeouts, liveness, reconnecting peers, large payloads.
local silly = require "silly"
local time = require "silly.time"
local cluster = require "silly.net.cluster"
local waitgroup = require "silly.sync.waitgroup"
local tcp = require "silly.net.tcp"
local T = require "testaux"

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
	for k, v in pairs(extra or {}) do
		conf[k] = v
	end
	return cluster.new(conf)
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
	local r, err = client.call(fd, 2, "300")
	T.eq(r, nil)
	T.eq(err, "timeout", "without a fourth argument, the instance's 100 ms")
	T.raises(function() client.call(fd, 1, "x", 0) end, "cluster.call: timeout must be a positive integer")
	T.raises(function() client.call(fd, 1, "x", "fast") end, "cluster.call: timeout must be a positive integer")
	client.close(fd)
	server.close(lfd)
end

T.run(function()
	per_call_timeouts()
end)
