-- One cluster node pair per codec: each codec's marshal and unmarshal are
-- two lines, whatever the codec.
--   silly examples/codecs/pairs.lua
local silly = require "silly"
local cluster = require "silly.net.cluster"
local tcp = require "silly.net.tcp"
local msgpack = require "msgpack"
local protobuf = require "protobuf"
local zproto = require "zproto"

assert(protobuf.load([[
syntax = "proto3";
package demo;
message Hello { string from = 1; int32 hops = 2; repeated string seen = 3; }
]]))
local proto = assert(zproto:parse [[
hello 0x01 { .from:string 1 .hops:integer 2 .seen:string[] 3 }
]])

local codecs = {
	msgpack = {
		marshal = function(_, cmd, body) return cmd, msgpack.encode(body, true) end,
		unmarshal = function(_, _, ptr, size) return (msgpack.decode(ptr, size)) end,
	},
	protobuf = {
		marshal = function(_, cmd, body) return cmd, protobuf.encode("demo.Hello", body, true) end,
		unmarshal = function(_, _, ptr, size) return (protobuf.decode("demo.Hello", ptr, size)) end,
	},
	zproto = {
		marshal = function(_, cmd, body) return cmd, proto:encode(cmd, body, true) end,
		unmarshal = function(_, cmd, ptr, size) return (proto:decode(cmd, ptr, size)) end,
	},
}

for _, name in ipairs({"msgpack", "protobuf", "zproto"}) do
	local c = codecs[name]
	local server = cluster.new {
		marshal = c.marshal,
		unmarshal = c.unmarshal,
		call = function(body)
			body.hops = body.hops + 1
			body.seen[#body.seen + 1] = name .. " server"
			return body
		end,
		close = function() end,
	}
	local lfd = assert(server.listen("127.0.0.1:0"))
	local client = cluster.new {marshal = c.marshal, unmarshal = c.unmarshal, call = function() end,
		close = function() end}
	local fd = assert(client.connect(tcp.sockname(lfd)))
	local r = assert(client.call(fd, 1, {from = name .. " client", hops = 0, seen = {"client"}}))
	print(string.format("%-8s %s -> hops %d, seen: %s", name, r.from, r.hops, table.concat(r.seen, ", ")))
	client.close(fd)
	server.close(lfd)
end
silly.exit(0)
