-- The msgpack codec: interop with python3-msgpack both ways, property
-- round trips, malformed and truncated input, limits.
local msgpack = require "msgpack"
local T = require "testaux"

local PY = "/usr/bin/python3 " .. T.dir .. "/msgpack_interop.py"

local function hex(s)
	return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end
local function unhex(h)
	return (h:gsub("..", function(x) return string.char(tonumber(x, 16)) end))
end

-- The same values as CASES in msgpack_interop.py, as Lua sees them.
local E = msgpack.array({})
local cases = {
	["nil"] = {nil}, ["true"] = {true}, ["false"] = {false},
	zero = {0}, fixint = {127}, uint8 = {255}, uint16 = {65535}, uint32 = {4294967295},
	int64_max = {math.maxinteger}, negfix = {-32}, int8 = {-128}, int16 = {-32768},
	int32 = {-2147483648}, int64_min = {math.mininteger}, big = {(1 << 53) + 1},
	half = {0.5}, negfloat = {-1.25}, huge = {1e300}, inf = {math.huge},
	empty_str = {""}, str = {"hello"}, utf8 = {"h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c"},
	str16 = {string.rep("x", 300)}, str32 = {string.rep("y", 70000)},
	bin = {"\0\1\xff", msgpack.binary("\0\1\xff")},
	empty_array = {E}, array = {{1, 2, 3}},
	array16 = {(function() local t = {} for i = 0, 19 do t[#t + 1] = i end return t end)()},
	nested = {{1, {2, {3, {4, "deep"}}}}},
	empty_map = {{}}, map = {{a = 1, b = "two", c = {3}}}, int_keys = {{[10] = "x", [20] = "y"}},
	mixed = {{list = {true, nil, 1.5, n = 3}, map = {k = -7}, s = ""}},
	uint64_max = {-1}, -- the same 64 bits: Lua has no wider integer
	float32 = {1.5},
}
-- "mixed" holds a nil inside an array: Lua arrays cannot, so silly encodes
-- a sequence with a hole as a map; compare it by hand below.

local function same(a, b)
	if type(a) ~= type(b) then
		return false
	end
	if type(a) == "number" then
		return a == b and math.type(a) == math.type(b)
	end
	if type(a) ~= "table" then
		return a == b
	end
	for k, v in pairs(a) do
		if k ~= "n" and not same(v, b[k]) then
			return false
		end
	end
	for k in pairs(b) do
		if k ~= "n" and a[k] == nil then
			return false
		end
	end
	return true
end

local function random_value(depth, rnd)
	local kind = rnd(depth > 4 and 6 or 9)
	if kind == 1 then
		return rnd(2) == 1
	elseif kind == 2 then
		return rnd(-1000000, 1000000) * (rnd(2) == 1 and 1 or 1 << rnd(0, 40))
	elseif kind == 3 then
		return (rnd() - 0.5) * 10 ^ rnd(-5, 5)
	elseif kind == 4 or kind == 5 then
		local t = {}
		for i = 1, rnd(0, 40) do
			t[i] = string.char(rnd(0, 255))
		end
		return table.concat(t)
	elseif kind == 6 then
		return rnd(math.mininteger, math.maxinteger)
	elseif kind == 7 then
		local t = {}
		for i = 1, rnd(1, 8) do
			t[i] = random_value(depth + 1, rnd)
		end
		return t
	else
		local t = {}
		for _ = 1, rnd(1, 6) do
			t["k" .. rnd(1, 1000)] = random_value(depth + 1, rnd)
		end
		return t
	end
end

T.run(function()
	-- Python -> silly.
	local f = io.popen(PY .. " emit")
	local n = 0
	for line in f:lines() do
		local name, h = line:match("^(%S+) (%x*)$")
		local value, used = msgpack.decode(unhex(h))
		T.eq(used, #h // 2, name .. ": all bytes used")
		if name == "mixed" then
			T.eq(value.list[1], true)
			T.eq(value.list[2], nil)
			T.eq(value.list[3], 1.5)
			T.eq(value.map.k, -7)
		else
			T.ok(same(value, cases[name][1]), name .. ": decoded as expected")
		end
		n = n + 1
	end
	f:close()
	T.eq(n, 35, "python's cases decoded")

	-- silly -> Python.
	local path = os.tmpname()
	local out = assert(io.open(path, "w"))
	for name, c in pairs(cases) do
		if name ~= "uint64_max" and name ~= "float32" and name ~= "mixed" then
			out:write(name, " ", hex(msgpack.encode(c[2] or c[1])), "\n")
		end
	end
	-- A hole in a Lua sequence: silly writes the map Python gets below.
	out:write("mixed ", hex(msgpack.encode({list = msgpack.array({true, nil, 1.5}), map = {k = -7}, s = ""})), "\n")
	out:close()
	local p = io.popen(PY .. " check " .. path .. " 2>&1")
	local report = p:read("a")
	local ok = p:close()
	os.remove(path)
	T.ok(ok, "python decoded every silly encoding:\n" .. report)

	-- Property: random values survive encode -> decode, string and raw.
	for seed = 1, 300 do
		math.randomseed(seed)
		local v = random_value(0, math.random)
		local bytes = msgpack.encode(v)
		local back, used = msgpack.decode(bytes)
		T.ok(same(back, v), "round trip, seed " .. seed)
		T.eq(used, #bytes)
		local p2, n2 = msgpack.encode(v, true)
		T.ok(same(msgpack.decode(p2, n2), v), "raw round trip, seed " .. seed)
		-- Every strict prefix is truncated, never a crash.
		for cut = 0, #bytes - 1, math.max(1, #bytes // 7) do
			local none, err = msgpack.decode(bytes:sub(1, cut))
			T.eq(none, nil)
			T.ok(err == "msgpack.decode: truncated input" or err == "msgpack.decode: empty input", err)
		end
	end

	-- Garbage never crashes: a value or nil, reason.
	math.randomseed(42)
	for _ = 1, 2000 do
		local t = {}
		for i = 1, math.random(1, 64) do
			t[i] = string.char(math.random(0, 255))
		end
		local v, err = msgpack.decode(table.concat(t))
		-- Either a value and the bytes it used, or nil and a reason.
		T.ok(math.type(err) == "integer" or (v == nil and err:find("^msgpack.decode: ")), tostring(err))
	end
	T.eq(select(2, msgpack.decode("\xc1")), "msgpack.decode: corrupt input")
	T.eq(select(2, msgpack.decode("\xd4\x01\x00")), "msgpack.decode: extension types are not supported")
	T.eq(select(2, msgpack.decode("\x81\xc0\x01")), "msgpack.decode: a map key is nil or NaN, which Lua tables cannot hold")

	-- Limits: depth and cycles.
	local deep = {}
	local cur = deep
	for _ = 1, 31 do
		cur[1] = {}
		cur = cur[1]
	end
	T.ok(msgpack.encode(deep), "32 levels encode")
	cur[1] = {}
	T.raises(function() msgpack.encode(deep) end, "msgpack.encode: nesting deeper than 32 levels")
	T.ok(select(2, msgpack.decode(string.rep("\x91", 40) .. "\xc0")), "40 levels refused on decode")
	local loop = {}
	loop.again = {loop}
	T.raises(function() msgpack.encode(loop) end, "msgpack.encode: a table contains itself")
	T.raises(function() msgpack.encode(print) end, "msgpack.encode: cannot encode a function")
	T.raises(function() msgpack.decode(42) end, "msgpack.decode: string or (lightuserdata, size) expected")

	-- Empty tables: maps unless marked; decoded empty arrays stay arrays.
	T.eq(hex(msgpack.encode({})), "80")
	T.eq(hex(msgpack.encode(msgpack.array({}))), "90")
	T.eq(msgpack.encode(msgpack.map({1, 2})):byte(1), 0x82, "forced map")
	T.eq(hex(msgpack.encode((msgpack.decode("\x90")))), "90", "an empty array stays an array")
end)
