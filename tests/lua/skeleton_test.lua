-- The skeleton codec plugin (codecs/skeleton): what a copied plugin must
-- already do right: round trips, raw output, bad input as nil and a reason,
-- misuse raising with the function's name, and a cluster call through it.
local tcp = require "silly.net.tcp"
local cluster = require "silly.net.cluster"
local skeleton = require "skeleton"
local T = require "testaux"

T.run(function()
	local list = {"", "a", string.rep("z", 70000), "\0binary\0"}
	local bytes = skeleton.encode(list)
	T.deepeq(skeleton.decode(bytes), list, "a string round trip")
	local ptr, size = skeleton.encode(list, true)
	T.eq(type(ptr), "userdata", "raw output")
	T.deepeq(skeleton.decode(ptr, size), list, "a raw round trip")
	local v, err = skeleton.decode(bytes:sub(1, -2))
	T.eq(v, nil)
	T.eq(err, "skeleton.decode: truncated record", "the second return value says why")
	v, err = skeleton.decode("\1\0")
	T.eq(v, nil)
	T.eq(err, "skeleton.decode: truncated length")
	T.raises(function() skeleton.encode("nope") end, "bad argument #1 to 'encode'", "misuse raises")
	T.raises(function() skeleton.encode({1, {}}) end, "skeleton.encode: item 2 is not a string")
	T.raises(function() skeleton.decode(42) end, "skeleton.decode", "a wrong input type names the function")

	-- The two-line marshal and unmarshal of every codec.
	local function node(call)
		return cluster.new {
			marshal = function(_, cmd, body) return cmd, skeleton.encode(body, true) end,
			unmarshal = function(_, _, p, n) return (skeleton.decode(p, n)) end,
			call = call, close = function() end,
		}
	end
	local server = node(function(body) return {table.concat(body, "+")} end)
	local client = node(function() end)
	local lfd = T.ok(server.listen("127.0.0.1:0"))
	local fd = T.ok(client.connect(tcp.sockname(lfd)))
	T.deepeq(client.call(fd, 1, {"x", "y", "z"}), {"x+y+z"}, "a cluster call through the plugin")
end)
