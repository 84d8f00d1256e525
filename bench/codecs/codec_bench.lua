-- Encode and decode of the player snapshot through each codec, from Lua,
-- in ns per message. Prints "codec.op=ns ...".
-- silly codec_bench.lua [--n=100000]
local silly = require "silly"
local env = require "silly.env"
local time = require "silly.time"
local snapshot = require "snapshot"
local msgpack = require "msgpack"
local zproto = require "zproto"

local n = tonumber(env.get("n") or 100000)
local value = snapshot.value()
local now = time.monotonic_us

local function bench(fn)
	for _ = 1, n // 10 do
		fn()
	end
	local t0 = now()
	for _ = 1, n do
		fn()
	end
	return (now() - t0) * 1000 / n
end

local out = {}
local mp_bytes = msgpack.encode(value)
out[#out + 1] = string.format("msgpack.encode=%.0f", bench(function() return msgpack.encode(value, true) end))
out[#out + 1] = string.format("msgpack.decode=%.0f", bench(function() return msgpack.decode(mp_bytes) end))
out[#out + 1] = string.format("msgpack.bytes=%d", #mp_bytes)

local proto = assert(zproto:parse(snapshot.zproto_schema))
local zp_bytes = proto:encode(1, value)
out[#out + 1] = string.format("zproto.encode=%.0f", bench(function() return proto:encode(1, value, true) end))
out[#out + 1] = string.format("zproto.decode=%.0f", bench(function() return proto:decode(1, zp_bytes) end))
out[#out + 1] = string.format("zproto.bytes=%d", #zp_bytes)

local ok, protobuf = pcall(require, "protobuf")
if ok and protobuf.load then
	local f = assert(io.open(env.get("proto")))
	assert(protobuf.load(f:read("a")))
	f:close()
	local pb_bytes = protobuf.encode("bench.Snapshot", value)
	out[#out + 1] = string.format("protobuf.encode=%.0f",
		bench(function() return protobuf.encode("bench.Snapshot", value, true) end))
	out[#out + 1] = string.format("protobuf.decode=%.0f",
		bench(function() return protobuf.decode("bench.Snapshot", pb_bytes) end))
	out[#out + 1] = string.format("protobuf.bytes=%d", #pb_bytes)
end
print(table.concat(out, " "))
silly.exit(0)
