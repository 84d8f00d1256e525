-- zproto encode+decode of a typical RPC message, in ns per message, next
-- to Lua's own string.pack/unpack of the same fields (a baseline that
-- knows the layout by heart and checks nothing).
-- silly zproto_bench.lua [--n=200000]
local silly = require "silly"
local env = require "silly.env"
local time = require "silly.time"
local zproto = require "zproto"

local proto = assert(zproto:parse [[
move 0x10 {
	.uid:long 1
	.x:float 2
	.y:float 3
	.dir:short 4
	.speed:integer 5
	.name:string 6
	.flags:uinteger 7
	.seq:long 8
}
]])
local msg = {uid = 10000042, x = 12.5, y = -3.25, dir = 270, speed = 7, name = "hero_of_zone_3",
	flags = 0x11, seq = 123456789}
local n = tonumber(env.get("n") or 200000)
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

local ours = bench(function()
	local p, sz = proto:encode(0x10, msg, true)
	local q, qs = proto:pack(p, sz, true)
	local r, rs = proto:unpack(q, qs, true)
	return proto:decode(0x10, r, rs)
end)
local plain = bench(function()
	local p, sz = proto:encode(0x10, msg, true)
	return proto:decode(0x10, p, sz)
end)
local fmt = "<i8ffi2i4s4I4i8"
local baseline = bench(function()
	local s = string.pack(fmt, msg.uid, msg.x, msg.y, msg.dir, msg.speed, msg.name, msg.flags, msg.seq)
	local uid, x, y, dir, speed, name, flags, seq = string.unpack(fmt, s)
	return {uid = uid, x = x, y = y, dir = dir, speed = speed, name = name, flags = flags, seq = seq}
end)
print(string.format("zproto_encode_pack_unpack_decode_ns=%.0f zproto_encode_decode_ns=%.0f " ..
	"string_pack_unpack_ns=%.0f ratio=%.2f", ours, plain, baseline, baseline / plain))
silly.exit(0)
