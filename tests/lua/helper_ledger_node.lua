-- Helper process: a cluster node that keeps a ledger of the requests it
-- ran. cmd 1 "work" records its body (an id) and answers it; cmd 2 takes
-- ids joined by spaces and answers those of them it ran, and the count of
-- requests its links did not start (cluster.stats()). --heartbeat,
-- --maxpayload and --deadline=off as the test asks. Prints "ready <addr>"
-- once listening.
local silly = require "silly"
local env = require "silly.env"
local tcp = require "silly.net.tcp"
local cluster = require "silly.net.cluster"

local ledger = {}
local node = cluster.new {
	marshal = function(_, cmd, body) return cmd, body end,
	unmarshal = function(_, _, p, n) return silly.tostring(p, n) end,
	call = function(body, cmd)
		if cmd == 1 then
			ledger[body] = true
			return body
		end
		local ran = {}
		for id in body:gmatch("%S+") do
			if ledger[id] then
				ran[#ran + 1] = id
			end
		end
		return table.concat(ran, " ") .. "|" .. cluster.stats().expired
	end,
	close = function() end,
	heartbeat = tonumber(env.get("heartbeat")),
	maxpayload = tonumber(env.get("maxpayload")),
	deadline = env.get("deadline") ~= "off",
}
local fd = assert(node.listen("127.0.0.1:" .. (env.get("port") or 0)))
print("ready " .. tcp.sockname(fd))
