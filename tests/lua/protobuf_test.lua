-- The protobuf codec: interop with protoc --encode/--decode both ways,
-- proto3 and proto2 defaults, maps, oneof, unknown fields, malformed
-- input, type errors, property round trips.
local protobuf = require "protobuf"
local T = require "testaux"

local DIR = T.dir .. "/pb"

local function hex(s)
	return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local function sh(cmd)
	local p = io.popen(cmd .. " 2>&1")
	local out = p:read("a")
	local ok = p:close()
	return ok, out
end

-- protoc reads text from a file and writes bytes (or the reverse).
local function protoc(mode, message, proto, input)
	local inpath, outpath = os.tmpname(), os.tmpname()
	local f = assert(io.open(inpath, "wb"))
	f:write(input)
	f:close()
	local ok, err = sh(string.format("protoc --proto_path=%s --%s=%s %s/%s < %s > %s", DIR, mode, message, DIR,
		proto, inpath, outpath))
	f = assert(io.open(outpath, "rb"))
	local out = f:read("a")
	f:close()
	os.remove(inpath)
	os.remove(outpath)
	assert(ok, "protoc failed: " .. tostring(err))
	return out
end

-- Every key of `want` has the same value in `got` (math.type included).
local function subset(want, got, path)
	path = path or "value"
	if type(want) ~= "table" then
		T.eq(got, want, path)
		return
	end
	T.eq(type(got), "table", path .. " is a table")
	for k, v in pairs(want) do
		subset(v, got[k], path .. "." .. tostring(k))
	end
end

local cases = {
	{"game.Scalars", "game.proto",
		'i32: -5 i64: -9000000000 u32: 4000000000 u64: 18000000000000000000 s32: -100 s64: -7000000000 ' ..
		'f32: 4294967295 f64: 123456789012 sf32: -2147483648 sf64: -9223372036854775808 flag: true ' ..
		'ratio: 0.5 precise: 3.141592653589793 name: "h\\303\\251llo" blob: "\\000\\001\\377" cls: ARCHER',
		{i32 = -5, i64 = -9000000000, u32 = 4000000000, u64 = -446744073709551616, s32 = -100, s64 = -7000000000,
			f32 = 4294967295, f64 = 123456789012, sf32 = -2147483648, sf64 = math.mininteger, flag = true,
			ratio = 0.5, precise = 3.141592653589793, name = "h\xc3\xa9llo", blob = "\0\1\xff", cls = "ARCHER"}},
	{"game.Scalars", "game.proto", '',
		{i32 = 0, i64 = 0, u32 = 0, u64 = 0, s32 = 0, flag = false, ratio = 0.0, precise = 0.0, name = "",
			blob = "", cls = "WARRIOR"}},
	{"game.Player", "game.proto",
		'name: "hero" level: 7 scores: [1, 2, 300] tags: "a" tags: "b" items { id: 1 count: 2 } ' ..
		'items { id: 3 } email: "x@y" weapon { id: 9 count: 1 } guild: 0 loose: [4, 5] ' ..
		'classes: [MAGE, WARRIOR] far: 42',
		{name = "hero", level = 7, scores = {1, 2, 300}, tags = {"a", "b"},
			items = {{id = 1, count = 2}, {id = 3, count = 0}}, email = "x@y", weapon = {id = 9, count = 1},
			guild = 0, loose = {4, 5}, classes = {"MAGE", "WARRIOR"}, far = 42, stats = {}, bag = {}}},
	{"game.Player", "game.proto",
		'name: "maps" stats { key: "str" value: 10 } stats { key: "agi" value: 12 } ' ..
		'bag { key: 5 value { id: 50 count: 5 } } phone: 13800000000',
		{name = "maps", stats = {str = 10, agi = 12}, bag = {[5] = {id = 50, count = 5}}, phone = 13800000000}},
	{"legacy.Config", "legacy.proto", 'name: "svc" ids: [1, 2] packed_ids: [3, 4]',
		{name = "svc", port = 8080, debug = true, mode = "fast", ids = {1, 2}, packed_ids = {3, 4}}},
	{"legacy.Config", "legacy.proto", 'name: "svc" port: 9000 debug: false weight: 0.25',
		{name = "svc", port = 9000, debug = false, mode = "fast", weight = 0.25}},
}

T.run(function()
	T.ok(protobuf.loadfile(DIR .. "/game.proto"))
	T.ok(protobuf.loadfile(DIR .. "/legacy.proto"))

	for i, c in ipairs(cases) do
		local message, proto, text, value = c[1], c[2], c[3], c[4]
		local name = message .. " case " .. i
		-- protoc -> silly
		local theirs = protoc("encode", message, proto, text)
		local decoded, err = protobuf.decode(message, theirs)
		T.ok(decoded, name .. ": decodes protoc's bytes: " .. tostring(err))
		subset(value, decoded, name)
		-- silly -> protoc: protoc reads our bytes back to text, and that text
		-- encodes to bytes that decode to the same value again.
		local ours = protobuf.encode(message, decoded)
		if not text:find("stats") then
			T.eq(hex(ours), hex(theirs), name .. ": byte for byte what protoc writes")
		end
		local as_text = protoc("decode", message, proto, ours)
		local again = protobuf.decode(message, protoc("encode", message, proto, as_text))
		subset(value, again, name .. " via protoc")
	end

	-- proto3 `optional` and oneof members keep their absence.
	local p = protobuf.decode("game.Player", protobuf.encode("game.Player", {name = "n"}))
	T.eq(p.guild, nil, "optional without a value stays absent")
	T.eq(p.email, nil, "oneof members stay absent")
	T.eq(p.weapon, nil, "message fields stay absent")
	T.eq(p.level, 0, "proto3 scalars read back as their defaults")
	T.eq(#p.scores, 0, "repeated fields read back empty")

	-- Unknown fields are skipped: an older reader of newer bytes.
	T.ok(protobuf.load([[
syntax = "proto3";
package v1;
message Player { string name = 1; int32 level = 2; }
]], "v1.proto"))
	local newer = protobuf.encode("game.Player", {name = "new", level = 3, tags = {"t"}, items = {{id = 1}},
		stats = {a = 1}, email = "e", far = 9})
	local old = protobuf.decode("v1.Player", newer)
	T.eq(old.name, "new")
	T.eq(old.level, 3)

	-- Wrong types name the field; unknown names are refused.
	T.raises(function() protobuf.encode("game.Scalars", {i32 = "1"}) end,
		"protobuf.encode: field 'game.Scalars.i32': an integer expected, got string")
	T.raises(function() protobuf.encode("game.Scalars", {i32 = 1.5}) end, "the number has a fraction")
	T.raises(function() protobuf.encode("game.Scalars", {i32 = 1 << 40}) end, "an int32 in range expected")
	T.raises(function() protobuf.encode("game.Scalars", {u32 = -1}) end, "a uint32 in range expected")
	T.raises(function() protobuf.encode("game.Scalars", {cls = "PALADIN"}) end, "a value name of its enum expected")
	T.raises(function() protobuf.encode("game.Player", {items = {5}}) end,
		"field 'game.Player.items': a table (message) expected, got number")
	T.raises(function() protobuf.encode("game.Player", {flag = true, scores = 5}) end, "a table (array) expected")
	T.raises(function() protobuf.encode("game.Nope", {}) end, "protobuf.encode: unknown message type 'game.Nope'")
	local loop = {name = "l"}
	loop.weapon = {id = 1}
	T.eq(protobuf.decode("game.Player", protobuf.encode("game.Player", loop)).weapon.id, 1)

	-- Load errors carry the line.
	local ok, err = protobuf.load('syntax = "proto3";\nmessage Bad {\n  int32 a = 1;\n  int32 b = 1;\n}\n')
	T.eq(ok, nil)
	T.ok(err:find("^line 4:") and err:find("has already been used", 1, true), err)
	ok, err = protobuf.load('syntax = "proto3";\nmessage Broken {\n  int32 a = \n}\n')
	T.eq(ok, nil)
	T.ok(err:find("^line 4:"), err)
	ok, err = protobuf.load('syntax = "proto3";\nmessage U {\n  Missing m = 1;\n}\n')
	T.eq(ok, nil)
	T.ok(err and err:find("^line 3:") and err:find("Missing", 1, true), err)
	T.eq(select(2, protobuf.loadfile("/nonexistent.proto")), "protobuf.loadfile: cannot open /nonexistent.proto")

	-- Malformed and truncated input: nil, reason; never a crash.
	local full = protobuf.encode("game.Player", cases[3][4])
	for cut = 1, #full - 1 do
		local v, e = protobuf.decode("game.Player", full:sub(1, cut))
		T.ok(v or (e and e:find("^protobuf.decode: ")), "prefix " .. cut)
	end
	T.eq(select(2, protobuf.decode("game.Player", "\x0a\x05ab")), "protobuf.decode: length runs past the end of the input")
	T.eq(select(2, protobuf.decode("game.Player", "\x0f")), "protobuf.decode: invalid wire type")
	T.eq(select(2, protobuf.decode("game.Player", "\x00")), "protobuf.decode: field number 0")
	T.eq(select(2, protobuf.decode("game.Player", "\x0d\0\0\0\0")), "protobuf.decode: wrong wire type for the field's type")
	math.randomseed(7)
	for _ = 1, 3000 do
		local t = {}
		for i = 1, math.random(1, 40) do
			t[i] = string.char(math.random(0, 255))
		end
		local v, e = protobuf.decode("game.Player", table.concat(t))
		T.ok(v or e:find("^protobuf.decode: "), tostring(e))
	end

	-- Property: random scalar messages round-trip (floats chosen exact in
	-- binary32).
	for seed = 1, 300 do
		math.randomseed(seed)
		local r = math.random
		local v = {i32 = r(-2147483648, 2147483647), i64 = r(math.mininteger, math.maxinteger),
			u32 = r(0, 4294967295), u64 = r(math.mininteger, math.maxinteger), s32 = r(-2147483648, 2147483647),
			s64 = r(math.mininteger, math.maxinteger), f32 = r(0, 4294967295), f64 = r(math.mininteger, math.maxinteger),
			sf32 = r(-2147483648, 2147483647), sf64 = r(math.mininteger, math.maxinteger), flag = r(2) == 1,
			ratio = r(-1000, 1000) / 8, precise = r() * 1e10, name = string.rep("n", r(0, 300)),
			blob = string.char(r(0, 255), r(0, 255)), cls = ({"WARRIOR", "MAGE", "ARCHER"})[r(1, 3)]}
		local p2, n2 = protobuf.encode("game.Scalars", v, true)
		subset(v, protobuf.decode("game.Scalars", p2, n2), "seed " .. seed)
	end
end)
