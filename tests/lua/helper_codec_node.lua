-- Helper process: a cluster node speaking one codec (--codec=msgpack or
-- zproto); its handler echoes a player record with the level raised.
local env = require "silly.env"
local tcp = require "silly.net.tcp"
local cluster = require "silly.net.cluster"
local codecs = require "codecs_for_tests"

local c = codecs[env.get("codec")]
local node = cluster.new {
	marshal = c.marshal,
	unmarshal = c.unmarshal,
	call = function(body)
		body.level = body.level + 1
		return body
	end,
	close = function() end,
}
local fd = assert(node.listen("127.0.0.1:0"))
print("ready " .. tcp.sockname(fd))
