-- silly.net.http.wire: what the HTTP/1.1 server and client share: status
-- texts, head composition, URL and query parsing, and reading a message's
-- body through the parser (silly.http.c) from a tcp or tls stream.
local c = require "silly.http.c"

local concat = table.concat
local format = string.format
local tonumber = tonumber
local type = type
local pairs = pairs
local ipairs = ipairs
local char = string.char

local M = {}

M.parser = c.parser

M.status_text = {
	[100] = "Continue", [101] = "Switching Protocols",
	[200] = "OK", [201] = "Created", [202] = "Accepted", [203] = "Non-Authoritative Information",
	[204] = "No Content", [205] = "Reset Content", [206] = "Partial Content",
	[300] = "Multiple Choices", [301] = "Moved Permanently", [302] = "Found", [303] = "See Other",
	[304] = "Not Modified", [307] = "Temporary Redirect", [308] = "Permanent Redirect",
	[400] = "Bad Request", [401] = "Unauthorized", [402] = "Payment Required", [403] = "Forbidden",
	[404] = "Not Found", [405] = "Method Not Allowed", [406] = "Not Acceptable", [408] = "Request Timeout",
	[409] = "Conflict", [410] = "Gone", [411] = "Length Required", [412] = "Precondition Failed",
	[413] = "Content Too Large", [414] = "URI Too Long", [415] = "Unsupported Media Type",
	[416] = "Range Not Satisfiable", [417] = "Expectation Failed", [421] = "Misdirected Request",
	[422] = "Unprocessable Content", [426] = "Upgrade Required", [428] = "Precondition Required",
	[429] = "Too Many Requests", [431] = "Request Header Fields Too Large",
	[500] = "Internal Server Error", [501] = "Not Implemented", [502] = "Bad Gateway",
	[503] = "Service Unavailable", [504] = "Gateway Timeout", [505] = "HTTP Version Not Supported",
}

-- The parser's version (10, 11) as the streams show it ("1.0", "1.1").
function M.version(v)
	return format("%d.%d", v // 10, v % 10)
end

-- A header field value may not carry a line break: that would let a value
-- taken from a request smuggle fields or a second response.
local function check_value(fname, k, v)
	if v:find("[\r\n]") then
		error(format("%s: header %s holds a line break", fname, k), 4)
	end
	return v
end

-- The head's text: first line, then each field (a list value as repeated
-- fields), then the blank line. `extra` is appended as it is.
function M.compose(fname, first, header, extra)
	local buf = {first}
	if header then
		for k, v in pairs(header) do
			if type(v) == "table" then
				for _, vv in ipairs(v) do
					buf[#buf + 1] = k .. ": " .. check_value(fname, k, tostring(vv)) .. "\r\n"
				end
			else
				buf[#buf + 1] = k .. ": " .. check_value(fname, k, tostring(v)) .. "\r\n"
			end
		end
	end
	buf[#buf + 1] = extra
	buf[#buf + 1] = "\r\n"
	return concat(buf)
end

-- The value of field `name` of `header` whatever the case of its key.
function M.field(header, name)
	if not header then
		return nil
	end
	local v = header[name]
	if v ~= nil then
		return v
	end
	for k, vv in pairs(header) do
		if type(k) == "string" and k:lower() == name then
			return vv
		end
	end
	return nil
end

local function unescape(s)
	s = s:gsub("+", " ")
	return (s:gsub("%%(%x%x)", function(h) return char(tonumber(h, 16)) end))
end
M.unescape = unescape

-- "a=1&b=x%20y" into t (a repeated key keeps its last value).
function M.parsequery(s, t)
	t = t or {}
	for pair in s:gmatch("[^&]+") do
		local k, v = pair:match("^([^=]*)=?(.*)$")
		if k ~= "" then
			t[unescape(k)] = unescape(v)
		end
	end
	return t
end

-- A request target: its path (unescaped) and query table.
function M.parsetarget(target)
	local path, query = target:match("^([^?#]*)%??([^#]*)")
	return unescape(path or "/"), M.parsequery(query or "")
end

-- "http[s]://host[:port][/path][?query]" -> scheme, host, port, target;
-- nil and why for anything else.
function M.parseurl(url)
	if type(url) ~= "string" then
		return nil, "url must be a string"
	end
	local scheme, rest = url:match("^(%a[%w+.-]*)://(.*)$")
	scheme = scheme and scheme:lower()
	if scheme ~= "http" and scheme ~= "https" then
		return nil, "unsupported url: " .. url
	end
	local authority, target = rest:match("^([^/?#]*)(.*)$")
	local host, port = authority:match("^%[([^%]]+)%]:?(%d*)$")
	if not host then
		host, port = authority:match("^([^:]+):?(%d*)$")
	end
	if not host or host == "" then
		return nil, "no host in url: " .. url
	end
	if port == "" then
		port = scheme == "https" and 443 or 80
	end
	target = target:gsub("#.*$", "")
	if target == "" or target:sub(1, 1) == "?" then
		target = "/" .. target
	end
	return scheme, host, tonumber(port), target
end

-- Feeds the parser from the stream until pred(parser) holds; true, or nil
-- and why (the stream's reason, or the parser's).
local function pump(s, pred)
	local p = s.parser
	while not pred(p) do
		local data, err = s.transport.readsome(s.fd)
		if not data then
			-- A response whose body runs to the end of the connection ends here.
			if p:head() and p:needeof() then
				local ok, perr = p:eof()
				if ok then
					return true
				end
				return nil, perr
			end
			return nil, err
		end
		local ok, perr = p:feed(data)
		if not ok then
			return nil, perr
		end
	end
	return true
end
M.pump = pump

local function has_head(p)
	return p:head() ~= nil
end
M.has_head = has_head

-- The next piece of the body: data, or "" and "EOF" at its end, or nil and
-- why. s.unread, when set, is body read already and handed out first.
function M.read(s)
	local p = s.parser
	local d = s.unread or p:body()
	s.unread = nil
	if d ~= "" then
		return d, nil
	end
	if p:done() then
		return "", "EOF"
	end
	local held
	local ok, err = pump(s, function(pp)
		held = pp:body()
		return held ~= "" or pp:done()
	end)
	if not ok then
		return nil, err
	end
	if held ~= "" then
		return held, nil
	end
	return "", "EOF"
end

-- The whole body (what is left of it), or nil and why.
function M.readall(s)
	local p = s.parser
	local parts = {s.unread or "", p:body()}
	s.unread = nil
	local ok, err = pump(s, function(pp)
		parts[#parts + 1] = pp:body()
		return pp:done()
	end)
	if not ok then
		return nil, err
	end
	parts[#parts + 1] = p:body()
	return concat(parts), nil
end

return M
