-- The node the wire peer test talks to: answers requests with
-- "re:<payload>:<trace id in hex>", and on each accepted link calls the
-- peer (cmd 7) and then reports the answer with a one-way send (cmd 8).
local silly = require "silly"
local tcp = require "silly.net.tcp"
local cluster = require "silly.net.cluster"

local node
node = cluster.new {
	marshal = function(_, cmd, body) return cmd, body end,
	unmarshal = function(_, _, p, n) return silly.tostring(p, n) end,
	accept = function(fd)
		local answer, err = node.call(fd, 7, "from-node")
		node.send(fd, 8, "got:" .. tostring(answer or err))
	end,
	call = function(body)
		return string.format("re:%s:%x", body, silly.trace())
	end,
	close = function() end,
}
local fd = assert(node.listen("127.0.0.1:0"))
print("ready " .. tcp.sockname(fd))
