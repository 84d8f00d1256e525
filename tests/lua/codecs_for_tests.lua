-- Cluster marshal/unmarshal pairs, one per codec: each is two lines.
local msgpack = require "msgpack"
local zproto = require "zproto"

local proto = assert(zproto:parse [[
player 0x01 {
	item { .id:integer 1 .count:integer 2 }
	.name:string 1
	.level:integer 2
	.items:item[] 3
}
]])

return {
	msgpack = {
		marshal = function(_, cmd, body) return cmd, msgpack.encode(body, true) end,
		unmarshal = function(_, _, ptr, size) return (msgpack.decode(ptr, size)) end,
	},
	zproto = {
		marshal = function(_, cmd, body) return cmd, proto:encode(cmd, body, true) end,
		unmarshal = function(_, cmd, ptr, size) return (proto:decode(cmd, ptr, size)) end,
	},
}
