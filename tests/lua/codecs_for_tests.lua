-- Cluster marshal/unmarshal pairs, one per codec: each is two lines.
local msgpack = require "msgpack"
local protobuf = require "protobuf"
local zproto = require "zproto"

local proto = assert(zproto:parse [[
player 0x01 {
	item { .id:integer 1 .count:integer 2 }
	.name:string 1
	.level:integer 2
	.items:item[] 3
}
]])

assert(protobuf.load([[
syntax = "proto3";
package test;
message Item { int32 id = 1; int32 count = 2; }
message Player { string name = 1; int32 level = 2; repeated Item items = 3; }
]], "codecs_for_tests.proto"))

return {
	protobuf = {
		marshal = function(_, cmd, body) return cmd, protobuf.encode("test.Player", body, true) end,
		unmarshal = function(_, _, ptr, size) return (protobuf.decode("test.Player", ptr, size)) end,
	},
	msgpack = {
		marshal = function(_, cmd, body) return cmd, msgpack.encode(body, true) end,
		unmarshal = function(_, _, ptr, size) return (msgpack.decode(ptr, size)) end,
	},
	zproto = {
		marshal = function(_, cmd, body) return cmd, proto:encode(cmd, body, true) end,
		unmarshal = function(_, cmd, ptr, size) return (proto:decode(cmd, ptr, size)) end,
	},
}
