-- Inputs the fuzzers (tests/fuzz) found crashing or exhausting memory,
-- replayed through the real plugins. Each must now give a clean error.
local zproto = require "zproto"
local msgpack = require "msgpack"
local T = require "testaux"

local function unhex(h)
	return (h:gsub("..", function(x) return string.char(tonumber(x, 16)) end))
end

T.run(function()
	-- zproto: an array count of 0x4b800000 sized a Lua table before the
	-- elements were found missing (out of memory).
	local f = assert(io.open(T.dir .. "/../vectors/zproto/schema.zproto"))
	local proto = assert(zproto:parse(f:read("a")))
	f:close()
	local huge_count = unhex("08000000010009000000804b")
	for _, name in proto:travel("struct") do
		local ok, v, used = pcall(proto.decode, proto, name, huge_count)
		T.ok(ok, name .. ": no error raised: " .. tostring(v))
		T.ok(v == nil and used == -3 or type(v) == "table", name .. ": malformed or decoded")
	end
	T.eq(select(2, proto:decode("arrays", huge_count)), -3, "the huge count is malformed")

	-- msgpack: array32/map32 headers claiming ~2^29 elements made msgpack-c
	-- allocate 128 GiB before reading them.
	local v, err = msgpack.decode(unhex("82a16292c3f8ddc366667265787072657870c2a16101"))
	T.eq(v, nil)
	T.eq(err, "msgpack.decode: truncated input")
	T.eq(select(2, msgpack.decode("\xdd\xff\xff\xff\xff")),
		"msgpack.decode: truncated input", "no 2^32-element allocation")
	T.eq(select(2, msgpack.decode("\xdf\x00\x00\x00\x02\x01\x02\x03")),
		"msgpack.decode: truncated input", "no 2^32-element allocation")
	T.eq(select(2, msgpack.decode("\x92\x01")), "msgpack.decode: truncated input", "a short array is still truncated")
	T.eq(msgpack.decode("\x92\x01\x02")[2], 2)
end)
