-- The cluster demo: a lobby (this process) sends players to a battle node,
-- which saves results on a store node; each node is its own process and
-- the trace id of each match shows up in the logs of all three.
--   silly examples/cluster/demo.lua
local silly = require "silly"
local time = require "silly.time"
local logger = require "silly.logger"
local cluster = require "silly.net.cluster"
local waitgroup = require "silly.sync.waitgroup"

local dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local codec = require "codec"

local exe = io.popen("readlink /proc/" .. silly.pid .. "/exe"):read("l")
-- Two free ports next to each other, below the kernel's ephemeral range.
local tcp = require "silly.net.tcp"
local function free(port)
	local fd = tcp.listen("127.0.0.1:" .. port, function() end)
	if fd then
		tcp.close(fd)
	end
	return fd ~= nil
end
local base = 12000 + silly.pid % 8000
while not (free(base) and free(base + 1)) do
	base = base + 2
end
local store_addr = "127.0.0.1:" .. base
local battle_addr = "127.0.0.1:" .. (base + 1)
local function start(role, port, extra)
	os.execute(string.format("%s %s/node.lua --lualib_path='%s/?.lua' --role=%s --port=%d %s &",
		exe, dir, dir, role, port, extra or ""))
end
start("store", base)
start("battle", base + 1, "--store=" .. store_addr)

-- This node's metrics, for Prometheus or curl while the demo runs.
local metrics = require "silly.metrics"
local metrics_fd = assert(metrics.serve("127.0.0.1:0"))
local metrics_url = "http://" .. tcp.sockname(metrics_fd) .. "/metrics"
logger.info("lobby", "metrics at", metrics_url)

local lobby = cluster.new {
	name = "lobby",
	timeout = 3000,
	marshal = codec.marshal,
	unmarshal = codec.unmarshal,
	call = function() end,
	close = function() end,
}
local battle, store
for _ = 1, 100 do
	battle = battle or lobby.connect(battle_addr)
	store = store or lobby.connect(store_addr)
	if battle and store then
		break
	end
	time.sleep(20)
end
assert(battle and store, "demo: the nodes did not start")

logger.info("lobby", "sending 6 players to battle, 3 at a time")
local players = {"ayla", "bo", "cyrus", "dana", "eli", "fox"}
for round = 0, 1 do
	local wg = waitgroup.new()
	for i = 1, 3 do
		local player = players[round * 3 + i]
		wg:fork(function()
			silly.trace(silly.tracenew()) -- one trace per match, across all nodes
			local t0 = time.monotonic_us()
			local r, err = lobby.call(battle, "match", {player = player, rating = 1000 + i * 100})
			if r then
				logger.info("lobby", player, "scored", r.score, "saved", r.saved,
					string.format("(%.1f ms)", (time.monotonic_us() - t0) / 1000))
			else
				logger.error("lobby", player, "failed:", err)
			end
		end)
	end
	wg:wait()
end

-- What the metrics say about the matches, read as a scraper would.
local s = assert(tcp.connect(tcp.sockname(metrics_fd)))
tcp.write(s, "GET /metrics HTTP/1.0\r\n\r\n")
local page = {}
while true do
	local d = tcp.read(s, 1)
	if not d then
		break
	end
	page[#page + 1] = d .. tcp.readall(s)
end
tcp.close(s)
for line in table.concat(page):gmatch("[^\n]+") do
	if line:find("^silly_cluster_calls_total") or line:find("^silly_cluster_call_seconds_count") then
		logger.info("lobby", "metrics:", line)
	end
end

logger.info("lobby", "all matches done; stopping the nodes")
lobby.call(battle, "shutdown", {})
lobby.call(store, "shutdown", {})
time.sleep(200)
logger.info("lobby", "demo finished")
silly.exit(0)
