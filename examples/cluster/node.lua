-- One node of the demo, in its own process:
--   store:  keeps each player's total score
--   battle: plays a match, then asks the store to save the result
-- silly node.lua --role=store|battle --port=N [--store=ip:port]
-- silly node.lua --role=store|battle --etcd=ip:port
--   With --etcd the node listens on any free port, registers itself as a
--   member of the service named by its role, and finds the store through
--   svc://store: no address is configured (discovery_demo.lua).
local silly = require "silly"
local time = require "silly.time"
local env = require "silly.env"
local logger = require "silly.logger"
local cluster = require "silly.net.cluster"
local codec = require "codec"

local role = env.get("role")
local totals = {}
local store_fd
local node
local registry -- with --etcd

node = cluster.new {
	marshal = codec.marshal,
	unmarshal = codec.unmarshal,
	accept = function(_, addr)
		logger.info(role, "accepted a link from", addr)
	end,
	call = function(body, cmd)
		local name = codec.name_of(cmd)
		if name == "shutdown" then
			logger.info(role, "shutting down")
			time.after(50, function()
				if registry then
					registry:close() -- leaves the service at once
				end
				silly.exit(0)
			end)
			return {}
		elseif name == "save" then
			totals[body.player] = (totals[body.player] or 0) + body.score
			logger.info(role, "saved", body.player, "+" .. body.score, "total", totals[body.player])
			return {ok = true, total = totals[body.player]}
		elseif name == "match" then
			time.sleep(20 + math.random(30)) -- the match takes a while
			local score = body.rating // 10 + math.random(20)
			logger.info(role, "match for", body.player, "score", score)
			local saved = node.call(store_fd, "save", {player = body.player, score = score})
			return {winner = body.player, score = score, saved = saved and saved.ok or false}
		end
	end,
	close = function(fd, errno)
		logger.info(role, "link", fd, "closed, errno", errno)
	end,
}

local etcd_endpoint = env.get("etcd")
if etcd_endpoint then
	local tcp = require "silly.net.tcp"
	local etcd = require "silly.store.etcd"
	local discovery = require "silly.net.cluster.discovery"
	local addr = tcp.sockname(assert(node.listen("127.0.0.1:0")))
	registry = discovery.new {etcd = etcd.new {endpoints = {etcd_endpoint}}, ttl = 3}
	registry:register(role, addr, {pid = silly.pid})
	logger.info(role, "listening on", addr, "and registered as a member of", role)
	if role == "battle" then
		store_fd = node.peer("svc://store", {registry = registry})
	end
	return
end

assert(node.listen("127.0.0.1:" .. env.get("port")))
logger.info(role, "listening on port", env.get("port"))
if role == "battle" then
	for _ = 1, 50 do
		store_fd = node.connect(env.get("store"))
		if store_fd then
			break
		end
		time.sleep(20)
	end
	assert(store_fd, "battle: cannot reach the store")
end
