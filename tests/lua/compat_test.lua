-- Forms of the original framework's API (v0.6 era) that scripts rely on:
-- base64's URL-safe alphabet (its own test's cases, by our hand), and
-- signal() returning the handler it replaces.
local time = require "silly.time"
local signal = require "silly.signal"
local base64 = require "silly.encoding.base64"
local T = require "testaux"

local function urlsafe()
	for plain, coded in pairs({["hello world"] = "aGVsbG8gd29ybGQ", [""] = "", f = "Zg", fo = "Zm8", foo = "Zm9v",
		["\xfb\xef"] = "--8", ["\xff\xef"] = "_-8", ["\xfb\xef\xff\xef"] = "--__7w"}) do
		T.eq(base64.urlsafe_encode(plain), coded, "urlsafe_encode of " .. #plain .. " bytes")
		T.eq(base64.urlsafe_decode(coded), plain, "urlsafe_decode of " .. coded)
	end
	T.eq(base64.urlsafe_decode("--__78"), "\xfb\xef\xff\xef", "unused low bits of the last sign are ignored")
	T.eq(base64.urlsafe_decode("+/8"), base64.urlsafe_decode("-_8"), "either alphabet")
	T.eq(base64.urlsafe_decode("Zg=="), "f", "padding is optional")
	for _, bad in ipairs({"A", "Z$", "AAAAA", " Zg"}) do
		local v, err = base64.urlsafe_decode(bad)
		T.eq(v, nil, "urlsafe_decode(" .. bad .. ")")
		T.eq(err, "invalid base64")
	end
	for n = 0, 40 do
		local s = {}
		for i = 1, n do
			s[i] = string.char((i * 53 + n) % 256)
		end
		s = table.concat(s)
		T.eq(base64.urlsafe_decode(base64.urlsafe_encode(s)), s)
	end
end

local function previous_handlers()
	local default = signal("SIGINT", function() end)
	T.eq(type(default), "function", "SIGINT's default handler is returned the first time")
	local mine = function() end
	signal("SIGINT", mine)
	T.eq(signal("SIGINT", default), mine, "then the one it replaces")
	local got
	T.eq(signal("SIGUSR1", function(name) got = name end), nil, "a signal without a handler before: nil")
	os.execute("kill -USR1 " .. require("silly.c").pid)
	local t0 = time.monotonic()
	while not got and time.monotonic() - t0 < 5000 do
		time.sleep(10)
	end
	T.eq(got, "SIGUSR1", "the handler runs with the signal's name")
	T.eq(signal("SIGNOPE", mine), nil, "an unknown signal: nil")
end

T.run(function()
	urlsafe()
	previous_handlers()
end)
