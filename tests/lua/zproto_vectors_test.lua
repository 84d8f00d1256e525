-- Every zproto vector, byte for byte: codec, pack, error/API and parse
-- cases, from tests/vectors/zproto (made by running the original library).
local zproto = require "zproto"
local T = require "testaux"

local V = dofile(T.dir .. "/../vectors/zproto/vectors.lua")
local f = assert(io.open(T.dir .. "/../vectors/zproto/schema.zproto"))
local proto = assert(zproto:parse(f:read("a")))
f:close()

local function hex(s)
	return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local function unhex(h)
	h = h:gsub("%s", "")
	return (h:gsub("..", function(x) return string.char(tonumber(x, 16)) end))
end

-- Deep equality that tells integers from floats and takes NaN as NaN.
local function same(a, b)
	if type(a) ~= type(b) then
		return false
	end
	if type(a) == "number" then
		if a ~= a and b ~= b then
			return true
		end
		return a == b and math.type(a) == math.type(b) and (a ~= 0 or 1 / a == 1 / b)
	end
	if type(a) ~= "table" then
		return a == b
	end
	for k, v in pairs(a) do
		if not same(v, b[k]) then
			return false
		end
	end
	for k in pairs(b) do
		if a[k] == nil then
			return false
		end
	end
	return true
end

local function show(v, depth)
	depth = depth or 0
	if type(v) == "string" then
		return string.format("%q", v)
	elseif type(v) ~= "table" or depth > 3 then
		return tostring(v) .. "(" .. (math.type(v) or type(v)) .. ")"
	end
	local parts = {}
	for k, x in pairs(v) do
		parts[#parts + 1] = tostring(k) .. "=" .. show(x, depth + 1)
	end
	table.sort(parts)
	return "{" .. table.concat(parts, ", ") .. "}"
end

local function expect_same(got, want, what)
	T.ok(same(got, want), what .. ": got " .. show(got) .. ", want " .. show(want))
end

T.run(function()
	-- Codec cases.
	local ncodec = 0
	for _, c in ipairs(V.codec) do
		local id = c.id
		T.eq(proto:tag(c.proto), c.tag, id .. " tag")
		local enc = proto:encode(c.proto, c.body)
		if not c.order_dependent then
			T.eq(hex(enc), c.encode_hex, id .. " encode")
			T.eq(hex(proto:pack(enc)), c.pack_hex, id .. " pack")
		end
		T.eq(#enc, c.encode_len, id .. " encode length")
		local packed = unhex(c.pack_hex)
		T.eq(hex(proto:unpack(packed)), c.unpack_hex, id .. " unpack")
		local body, used = proto:decode(c.proto, unhex(c.encode_hex))
		expect_same(body, c.decoded, id .. " decode")
		T.eq(used, c.decode_consumed, id .. " consumed")
		body = proto:decode(c.proto, unhex(c.unpack_hex))
		expect_same(body, c.decoded, id .. " decode of unpacked")
		-- The raw chain the cluster uses: encode -> pack -> unpack -> decode.
		local p, n = proto:encode(c.tag ~= 0 and c.tag or c.proto, c.body, true)
		local q, m = proto:pack(p, n, true)
		local r, k = proto:unpack(q, m, true)
		local rbody, rused = proto:decode(c.proto, r, k)
		expect_same(rbody, c.decoded, id .. " raw chain")
		T.eq(rused, c.decode_consumed, id .. " raw chain consumed")
		for other, want in pairs(c.decode_as or {}) do
			local ob, oused = proto:decode(other, unhex(c.encode_hex))
			expect_same(ob, want.result, id .. " decoded as " .. other)
			T.eq(oused, want.decode_consumed, id .. " consumed as " .. other)
		end
		ncodec = ncodec + 1
	end
	T.eq(ncodec, 57, "codec cases run")

	-- Pack cases: arbitrary bytes.
	for _, c in ipairs(V.pack) do
		T.eq(hex(proto:pack(unhex(c.input_hex))), c.pack_hex, c.id .. " pack")
		T.eq(hex(proto:unpack(unhex(c.pack_hex))), c.unpack_hex, c.id .. " unpack")
	end
	T.eq(#V.pack, 21, "pack cases run")

	-- Error and API cases: the call text is Lua but for hex"..." literals and
	-- a few named inputs.
	local ping_hello = proto:encode("ping", {msg = "hello"})
	local env = setmetatable({
		H = unhex,
		hex = function(s) return s and hex(s) end,
		ping_hello = ping_hello,
		ping_hello_string = ping_hello,
		str = "\1\2",
		decode = function(...) return proto:decode(...) end,
		encode = function(...) return proto:encode(...) end,
		pack = function(...) return proto:pack(...) end,
		unpack = function(...) return proto:unpack(...) end,
		tag = function(...) return proto:tag(...) end,
		default = function(...) return proto:default(...) end,
		travel = function(mode, typ)
			local out = {}
			for a, b, c in proto:travel(mode, typ) do
				if mode == "struct" then
					out[#out + 1] = {a, b, c and type(c) or nil}
				else
					out[#out + 1] = b
				end
			end
			return out
		end,
	}, {__index = _G})
	local special = {
		decode_truncated_record = function() return proto:decode("ping", ping_hello:sub(1, 10)) end,
		unpack_string_with_size = function()
			local s = "\3\1\2"
			return proto:unpack(s, #s, true)
		end,
	}
	local nerr = 0
	for _, c in ipairs(V.errors) do
		if c.kind ~= "crash" then
			local fn = special[c.id]
			if not fn then
				local src = c.call:gsub('hex"([%x%s]*)"', 'H("%1")')
				fn = assert(load("return " .. src, "=" .. c.id, "t", env))
			end
			local res = table.pack(pcall(fn))
			local ok = table.remove(res, 1)
			res.n = res.n - 1
			if c.error then
				T.eq(ok, false, c.id .. " raises")
				local msg = tostring(res[1]):gsub("^[^\n]-:%d+: ", "", 1)
				T.eq(msg, c.error, c.id .. " error message")
			else
				T.ok(ok, c.id .. " runs: " .. tostring(res[1]))
				local want = c.result
				T.eq(res.n, want.n, c.id .. " result count")
				for i = 1, want.n do
					local got = res[i]
					if want[i] == "<lightuserdata>" then
						got = type(got) == "userdata" and "<lightuserdata>" or got
					end
					expect_same(got, want[i], c.id .. " result " .. i)
				end
			end
			nerr = nerr + 1
		end
	end
	T.eq(nerr, 66, "error and API cases run")
	-- The one case the original aborts on: an empty pack.
	T.eq(proto:pack(""), "", "pack of nothing is nothing")
	local p0, n0 = proto:pack("", true)
	T.eq(type(p0), "userdata")
	T.eq(n0, 0)

	-- Parse cases.
	for _, c in ipairs(V.parse) do
		local p, err = zproto:parse(c.schema)
		if c.ok then
			T.ok(p, c.id .. " parses: " .. tostring(err))
		else
			T.eq(p, nil, c.id .. " fails")
			T.eq(err, c.error, c.id .. " error")
		end
	end
	T.eq(#V.parse, 34, "parse cases run")

	-- zproto:load reads a file, and says why when it cannot.
	local loaded = T.ok(zproto:load(T.dir .. "/../vectors/zproto/schema.zproto"))
	T.eq(loaded:tag("bag"), 0x15)
	local none, lerr = zproto:load("/nonexistent.zproto")
	T.eq(none, nil)
	T.ok(lerr:find("cannot open", 1, true), lerr)
end)
