-- The discovery demo: the nodes find each other through etcd. It starts a
-- local etcd (its data in a temporary directory), a store node and three
-- battle nodes that know nothing but etcd's address, and a lobby (this
-- process) that sends players to svc://battle, each player always to the
-- same battle node. Then one battle node is killed, its players move, and
-- a new one joins and gets players of its own.
--   silly examples/cluster/discovery_demo.lua
local silly = require "silly"
local time = require "silly.time"
local logger = require "silly.logger"
local tcp = require "silly.net.tcp"
local cluster = require "silly.net.cluster"
local etcd = require "silly.store.etcd"
local discovery = require "silly.net.cluster.discovery"

local dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local codec = require "codec"

local ETCD = "/usr/bin/etcd"
if not io.open(ETCD) then
	print("discovery demo: etcd is not installed (Debian: apt-get install etcd-server); skipped")
	silly.exit(0)
end

local exe = io.popen("readlink /proc/" .. silly.pid .. "/exe"):read("l")
local function free_port()
	for _ = 1, 100 do
		local port = 12000 + math.random(0, 8000)
		local fd = tcp.listen("127.0.0.1:" .. port, function() end)
		if fd then
			tcp.close(fd)
			return port
		end
	end
	error("no free port")
end
local function spawn(cmd)
	local p = io.popen(cmd .. " & echo $!")
	local pid = tonumber(p:read("l"))
	p:close()
	return pid
end

-- etcd, on loopback, with its data in a directory removed at the end.
local data = io.popen("mktemp -d"):read("l")
local client_port, peer_port = free_port(), free_port()
local endpoint = "127.0.0.1:" .. client_port
local peer_url = "http://127.0.0.1:" .. peer_port
local etcd_pid = spawn(string.format("%s --name demo --data-dir %s/data --listen-client-urls http://%s " ..
	"--advertise-client-urls http://%s --listen-peer-urls %s --initial-advertise-peer-urls %s " ..
	"--initial-cluster demo=%s --logger zap --log-outputs stderr --log-level error 2>%s/etcd.log",
	ETCD, data, endpoint, endpoint, peer_url, peer_url, peer_url, data))
local function cleanup()
	os.execute("kill " .. etcd_pid .. " 2>/dev/null; sleep 0.2; rm -rf " .. data)
end
local cli = etcd.new {endpoints = {endpoint}, timeout = 1000}
local up = false
for _ = 1, 100 do
	if cli:get("/") then
		up = true
		break
	end
	time.sleep(100)
end
if not up then
	logger.error("lobby", "etcd did not start; its log:", data .. "/etcd.log")
	cleanup()
	silly.exit(1)
end
logger.info("lobby", "etcd is up at", endpoint)

local function start(role)
	return spawn(string.format("%s %s/node.lua --lualib_path='%s/?.lua' --role=%s --etcd=%s", exe, dir, dir,
		role, endpoint))
end

local reg = discovery.new {etcd = cli, ttl = 3}
reg:watch("battle", function(what, m)
	logger.info("lobby", "battle node", m.addr, what == "join" and "joined" or what == "leave" and "left" or what)
end)

start("store")
for _ = 1, 3 do
	start("battle")
end

local lobby = cluster.new {
	name = "lobby",
	timeout = 3000,
	marshal = codec.marshal,
	unmarshal = codec.unmarshal,
	call = function() end,
	close = function() end,
}
-- Each player's matches go to one battle node while that node lives.
local battle = lobby.peer("svc://battle", {registry = reg, key = function(_, body) return body.player end})
local store = lobby.peer("svc://store", {registry = reg})
while #battle:members() < 3 or #store:members() < 1 do
	time.sleep(20)
end

local players = {"ayla", "bo", "cyrus", "dana", "eli", "fox"}
local function play(round)
	local where = {}
	for i, player in ipairs(players) do
		local r, err = lobby.call(battle, "match", {player = player, rating = 1000 + i * 100})
		local node = battle:pick(player)
		where[player] = node and node.addr
		if r then
			logger.info("lobby", round, player, "played on", where[player], "scored", r.score, "saved", r.saved)
		else
			logger.error("lobby", round, player, "failed:", err)
		end
	end
	return where
end

local before = play("round 1:")

-- Kill the node of the first player: its players move to the others.
local victim = before.ayla
for _, m in ipairs(reg:members("battle")) do
	if m.addr == victim then
		logger.info("lobby", "killing battle node", victim, "(SIGKILL)")
		os.execute("kill -9 " .. m.meta.pid)
	end
end
time.sleep(100)
local after = play("round 2:")
for _, player in ipairs(players) do
	if before[player] ~= after[player] then
		logger.info("lobby", player, "moved from", before[player], "to", after[player])
	end
end
local t0 = time.monotonic()
while #reg:members("battle") > 2 do
	time.sleep(20)
end
logger.info("lobby", "the killed node left the registry", time.monotonic() - t0, "ms after its death (TTL 3 s)")

-- A new battle node joins and gets the players the hash ring gives it.
start("battle")
while #battle:members() < 3 do
	time.sleep(20)
end
play("round 3:")

logger.info("lobby", "stopping the nodes")
for _, svc in ipairs({battle, store}) do
	for _, addr in ipairs(svc:members()) do
		lobby.call(svc:member(addr), "shutdown", {})
	end
end
t0 = time.monotonic()
while #reg:members("battle") > 0 or #reg:members("store") > 0 do
	time.sleep(20)
end
logger.info("lobby", "all nodes left the registry", time.monotonic() - t0, "ms after their shutdown")
reg:close()
cli:close()
cleanup()
logger.info("lobby", "discovery demo finished")
silly.exit(0)
