-- silly.encoding.json: the original framework's Lua mapping, RFC 8259
-- otherwise, and a clear answer to every bad input.
local json = require "silly.encoding.json"
local T = require "testaux"

T.run(function()
	-- The mapping scripts rely on.
	T.eq(json.encode({}), "[]", "an empty table is an array")
	T.eq(json.encode({1, 2, 3}), "[1,2,3]", "array")
	T.eq(json.encode({[1] = 1, [3] = 3}), "[1]", "a sparse array stops at the first hole")
	T.eq(json.encode({a = 1}), '{"a":1}', "object")
	T.eq(json.encode({1, "a", true, {false}}), '[1,"a",true,[false]]', "mixed array")
	T.eq(json.encode({foo = 123}), '{"foo":123}', "integer")
	T.eq(json.encode({foo = 3.1415}), '{"foo":3.1415}', "float, shortest form")
	T.eq(json.encode({foo = 1.0}), '{"foo":1.0}', "a float stays a float")
	T.eq(json.encode({foo = 0.1}), '{"foo":0.1}', "0.1 is not 0.10000000000000001")
	T.eq(json.encode({foo = math.mininteger}), '{"foo":-9223372036854775808}', "int64 min")
	T.eq(json.encode({[2] = "x"}), '{"2":"x"}', "a number key without t[1] is an object key")
	T.eq(json.encode("top"), '"top"', "a top-level string")
	T.eq(json.encode(7), "7", "a top-level number")

	-- Escapes: the original's exact bytes, '/' left alone, other control
	-- characters as \u00XX.
	local escaped = {
		{{foo = "\\"}, '{"foo":"\\\\"}'},
		{{foo = "\""}, '{"foo":"\\""}'},
		{{foo = "/"}, '{"foo":"/"}'},
		{{foo = "\b\f\n\r\t"}, '{"foo":"\\b\\f\\n\\r\\t"}'},
		{{foo = "\1\31"}, '{"foo":"\\u0001\\u001F"}'},
		{{foo = "中文"}, '{"foo":"中文"}'},
		{{["key\\with\"escapes"] = "value"}, '{"key\\\\with\\"escapes":"value"}'},
		{{foo = {"a\"", "b\\"}}, '{"foo":["a\\"","b\\\\"]}'},
	}
	for i, case in ipairs(escaped) do
		T.eq(json.encode(case[1]), case[2], "escape case " .. i)
		T.deepeq(json.decode(case[2]), case[1], "escape round trip " .. i)
	end

	-- Decoding.
	local v, nxt = json.decode(' {"foo":"hello\\"","n":null,"arr":[1,null,3]} ')
	T.eq(v.foo, 'hello"', "escaped quote")
	T.eq(v.n, nil, "null is nil")
	T.eq(v.arr[1], 1, "array slot 1")
	T.eq(v.arr[2], nil, "null leaves a hole")
	T.eq(v.arr[3], 3, "the slot after a null keeps its index")
	T.eq(nxt, 45, "the index after the value")
	T.eq(json.decode("[-1.23e5]")[1], -123000.0, "exponent is a float")
	T.eq(json.decode("[42]")[1], 42, "an integer stays an integer")
	T.eq(json.decode("[9223372036854775807]")[1], math.maxinteger, "int64 max")
	T.eq(json.decode("[-9223372036854775808]")[1], math.mininteger, "int64 min")
	T.eq(json.decode("[18446744073709551615]")[1], 18446744073709551615.0, "beyond int64: a float")
	T.eq(json.decode('{"f":1.7976931348623157e308}').f, 1.7976931348623157e308, "max double, exact")
	T.eq(json.decode('{"f":-1.7976931348623157e308}').f, -1.7976931348623157e308, "min double, exact")
	T.eq(json.decode('{"f":0.1}').f, 0.1, "0.1 at full precision")
	T.eq(json.decode('"\\u00e9\\ud83d\\ude00\\/"'), "é😀/", "\\u escapes and a surrogate pair to UTF-8")
	T.eq(json.decode('"a\\u0000b"'), "a\0b", "\\u0000 is a NUL byte in the string")
	T.eq(json.decode("true"), true, "a top-level literal")
	T.eq(select(2, json.decode("null")), 5, "null at top level decodes, as nil")

	local long = string.rep("a", 100000)
	T.eq(json.decode('["' .. long .. '"]')[1], long, "a long string")

	local deep = {}
	local cur = deep
	for _ = 1, 100 do
		cur[1] = {}
		cur = cur[1]
	end
	T.deepeq(json.decode(json.encode(deep)), deep, "100 levels round trip")

	-- Bad text: nil and a reason, never a raise.
	local bad = {
		{'{"a":1', "unexpected end of text at offset 6"},
		{"[1,,2]", "Invalid value at offset 3"},
		{'{"a":}', "Invalid value"},
		{'{"a":tru}', "Invalid value"},
		{"'string'", "Invalid value at offset 0"},
		{"", "empty"},
		{"   ", "empty"},
		{"[1] x", "unexpected text after the value at offset 3"},
		{"[1]\0", "unexpected text after the value"},
		{'{"a" 1}', "colon"},
		{'"\1"', "in string at offset 1"},
		{"[NaN]", "Invalid value"},
		{"[1e999]", "Number too big"},
		{"[1.97246314e308]", "number too big"},
		{'"\\ud800"', "surrogate"},
		{string.rep("[", 1001) .. string.rep("]", 1001), "nesting deeper than 1000"},
	}
	for _, case in ipairs(bad) do
		local r, err = json.decode(case[1])
		T.eq(r, nil, "no value for " .. case[1]:sub(1, 20))
		T.ok(err:find("json.decode: ", 1, true) == 1, "the reason names the function: " .. err)
		T.ok(err:find(case[2], 1, true), "the reason for " .. case[1]:sub(1, 20) .. " says " .. case[2] .. ": " .. err)
	end
	T.ok(json.decode(string.rep("[", 1000) .. string.rep("]", 1000)), "1000 levels decode")

	-- What JSON cannot hold: a raise naming the function.
	T.raises(function() json.encode({a = math.huge}) end, "json.encode: cannot encode inf", "infinity")
	T.raises(function() json.encode({0 / 0}) end, "json.encode: cannot encode nan", "nan")
	T.raises(function() json.encode({print}) end, "json.encode: cannot encode a function", "a function")
	T.raises(function() json.encode({[true] = 1}) end, "object keys must be strings or numbers, got boolean",
		"a boolean key")
	local cycle = {}
	cycle[1] = cycle
	T.raises(function() json.encode(cycle) end, "nested deeper than 1000", "a cycle")
	T.raises(function() json.encode() end, "bad argument #1 to 'encode'", "no argument")
	T.raises(function() json.decode({}) end, "bad argument #1 to 'decode'", "not a string")

	-- Round trips of random documents.
	math.randomseed(7)
	local function random_value(depth)
		local r = math.random(depth > 3 and 4 or 6)
		if r == 1 then
			return math.random(-1e9, 1e9)
		elseif r == 2 then
			return math.random() * 1e6
		elseif r == 3 then
			local b = {}
			for i = 1, math.random(0, 20) do
				b[i] = string.char(math.random(0, 255))
			end
			return table.concat(b)
		elseif r == 4 then
			return math.random(2) == 1
		elseif r == 5 then
			local a = {}
			for i = 1, math.random(1, 5) do
				a[i] = random_value(depth + 1)
			end
			return a
		else
			local o = {}
			for _ = 1, math.random(1, 5) do
				o["k" .. math.random(100)] = random_value(depth + 1)
			end
			return o
		end
	end
	for i = 1, 500 do
		local doc = {random_value(0)}
		local text = json.encode(doc)
		local back, err = json.decode(text)
		T.ok(back, "random document " .. i .. " decodes: " .. tostring(err))
		T.deepeq(back, doc, "random document " .. i)
	end
	T.done()
end)
