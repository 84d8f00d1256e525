-- A peer killed with SIGKILL while 1000 calls are pending: every caller
-- gets nil, "closed" at once, and no session stays allocated.
local time = require "silly.time"
local cluster = require "silly.net.cluster"
local waitgroup = require "silly.sync.waitgroup"
local T = require "testaux"

T.run(function()
	local addr, pid = T.start("helper_cluster_server.lua", "--delay=60000")
	local client = cluster.new {
		timeout = 30000,
		marshal = T.string_marshal,
		unmarshal = T.string_unmarshal,
		call = function() end,
		close = function() end,
	}
	local fd = T.ok(client.connect(addr), "connected to the helper")
	local wg = waitgroup.new()
	local results = {}
	local last_return = 0
	for i = 1, 1000 do
		wg:fork(function()
			local r, err = client.call(fd, 1, "call " .. i)
			results[i] = err or r
			last_return = time.monotonic_us()
		end)
	end
	time.sleep(300) -- the requests reach the helper and wait there
	T.eq(cluster.stats().pending, 1000, "1000 calls pending")
	T.signal(pid, "KILL")
	local killed = time.monotonic_us()
	wg:wait()
	local took = (last_return - killed) / 1000
	local closed = 0
	for i = 1, 1000 do
		if results[i] == "closed" then
			closed = closed + 1
		end
	end
	T.eq(closed, 1000, "every pending call returned nil, 'closed'")
	print(string.format("1000 pending calls failed %.2f ms after the kill", took))
	-- The property is "at once, not after the 30 s timeout"; the fine figure
	-- (about a millisecond) is bench/cluster/failfast.sh's to report.
	T.le(took, 3000, "long before the 30 s timeout")
	T.eq(cluster.stats().pending, 0, "no session left allocated")
	T.eq(next(client.__fdaddr), nil, "the dead link is forgotten")
end)
