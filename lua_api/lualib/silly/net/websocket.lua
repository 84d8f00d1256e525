-- silly.net.websocket: WebSocket (RFC 6455) server and client over
-- silly.net.http, frames read and written by wslay (silly.websocket.c).
--
-- websocket.listen{addr, handler [, tls, certs, max_message, ...http.listen's]}
--   -> server; handler(sock) runs for each accepted connection.
-- websocket.connect(url [, header [, opts]]) -> sock, or nil and why
--   (ws:// or wss://; opts as http.request's, and max_message).
-- sock:read() -> data, type ("text", "binary", "ping", "pong", "close"), or
--   nil and why. A fragmented message comes whole; control frames come as
--   they arrive, also between fragments (pings reach the script, which
--   answers them). A "close" carries its payload, and its code as a third
--   value when there is one.
-- sock:write(data [, type]) -> true, or false and why; type "binary" by
--   default; messages over 64 KiB leave in fragments.
-- sock:close([code [, reason]]): a close frame (empty unless a code is
--   given), then the connection closes.
local http = require "silly.net.http"
local base64 = require "silly.encoding.base64"
local hash = require "silly.crypto.hash"
local utils = require "silly.crypto.utils"
local c = require "silly.websocket.c"

local type = type
local concat = table.concat
local format = string.format
local pack = string.pack
local unpack = string.unpack
local setmetatable = setmetatable

local M = {}

local GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
local FRAGMENT = 64 * 1024
local DEFAULT_MAX_MESSAGE = 32 * 1024 * 1024

local opcodes = {continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10}
local names = {[1] = "text", [2] = "binary", [8] = "close", [9] = "ping", [10] = "pong"}

local function accept_key(key)
	return base64.encode(hash.hash("sha1", key .. GUID))
end

local sock = {}
sock.__index = sock
sock.__close = function(s)
	s:close()
end

-- Fails the connection: a close frame with `code`, then nil and why.
local function fail(s, code, why)
	if not s.closed then
		s.transport.write(s.fd, s.framer:frame(true, 8, pack(">I2", code)))
		s:close_transport()
	end
	return nil, "websocket: " .. why
end

-- The next whole frame: fin, opcode, payload; or nil and why.
local function next_frame(s)
	local framer = s.framer
	while true do
		local fin, op, payload = framer:next()
		if fin ~= nil then
			return fin, op, payload
		elseif op then -- a protocol violation, or a frame too big (1009)
			return fail(s, op:find("size limit", 1, true) and 1009 or 1002, op)
		end
		local data, err = s.transport.readsome(s.fd)
		if not data then
			return nil, err
		end
		framer:feed(data)
	end
end

-- One data frame into the message being assembled; the message when done.
local function assemble(s, fin, op, payload)
	if op == 0 and not s.parts then
		return fail(s, 1002, "a continuation without a message")
	elseif op ~= 0 and s.parts then
		return fail(s, 1002, "a new message inside a fragmented one")
	end
	local parts = s.parts or {type = names[op], size = 0}
	parts.size = parts.size + #payload
	if parts.size > s.max_message then
		return fail(s, 1009, "message over the size limit")
	end
	parts[#parts + 1] = payload
	if not fin then
		s.parts = parts
		return false
	end
	s.parts = nil
	local data = #parts == 1 and parts[1] or concat(parts)
	if parts.type == "text" and not utf8.len(data) then
		return fail(s, 1007, "text that is not UTF-8")
	end
	return data, parts.type
end

function sock:read()
	if self.closed then
		return nil, "socket closed"
	end
	while true do
		local fin, op, payload = next_frame(self)
		if fin == nil then
			return nil, op
		end
		if op >= 8 then
			if op == 8 and #payload >= 2 then
				return payload, "close", (unpack(">I2", payload))
			end
			return payload, names[op]
		end
		local data, typ = assemble(self, fin, op, payload)
		if data then
			return data, typ
		elseif data == nil then
			return nil, typ
		end
	end
end

function sock:write(data, typ)
	if self.closed then
		return false, "socket closed"
	end
	typ = typ or "binary"
	data = data or ""
	local op = opcodes[typ]
	if not op or op == 0 then
		error("websocket write: type must be text, binary, ping, pong or close, got " .. tostring(typ), 2)
	end
	if type(data) ~= "string" then
		error("websocket write: data must be a string, got " .. type(data), 2)
	end
	local len = #data
	if op >= 8 then
		if len > 125 then
			return false, "websocket: a control frame carries at most 125 bytes"
		end
		return self.transport.write(self.fd, self.framer:frame(true, op, data))
	end
	if len <= FRAGMENT then
		return self.transport.write(self.fd, self.framer:frame(true, op, data))
	end
	local frames = {}
	for off = 1, len, FRAGMENT do
		local last = off + FRAGMENT > len
		frames[#frames + 1] = self.framer:frame(last, off == 1 and op or 0, data:sub(off, off + FRAGMENT - 1))
	end
	return self.transport.write(self.fd, frames)
end

function sock:close_transport()
	if not self.closed then
		self.closed = true
		self.transport.close(self.fd)
	end
end

function sock:close(code, reason)
	if self.closed then
		return
	end
	local payload = ""
	if code then
		payload = pack(">I2", code) .. (reason or "")
	end
	self.transport.write(self.fd, self.framer:frame(true, 8, payload:sub(1, 125)))
	self:close_transport()
end

local function new_sock(stream, role, max_message)
	local s = setmetatable({
		fd = stream.fd, stream = stream, transport = stream.transport,
		framer = c.framer(role, max_message), max_message = max_message,
	}, sock)
	local rest = stream.parser:leftover()
	if rest ~= "" then
		s.framer:feed(rest)
	end
	return s
end

local function token_in(value, token)
	if type(value) == "table" then
		value = concat(value, ",")
	end
	if type(value) ~= "string" then
		return false
	end
	for t in value:gmatch("[^,%s]+") do
		if t:lower() == token then
			return true
		end
	end
	return false
end

-- The server's half of the handshake; true when the stream was upgraded.
local function handshake(stream)
	local h = stream.header
	local key = h["sec-websocket-key"]
	local decoded = type(key) == "string" and base64.decode(key)
	if stream.method ~= "GET" or not token_in(h.upgrade, "websocket") or not token_in(h.connection, "upgrade") or
		h["sec-websocket-version"] ~= "13" or not decoded or #decoded ~= 16 then
		local body = "a WebSocket handshake was expected\n"
		stream:respond(400, {["content-length"] = #body, ["sec-websocket-version"] = "13"})
		stream:close(body)
		return false
	end
	stream:respond(101, {upgrade = "websocket", connection = "Upgrade", ["sec-websocket-accept"] = accept_key(key)})
	stream.upgraded = true
	return true
end

function M.listen(conf)
	if type(conf) ~= "table" or type(conf.handler) ~= "function" then
		error("websocket.listen: a table with a handler function expected", 2)
	end
	local handler = conf.handler
	local max_message = conf.max_message or DEFAULT_MAX_MESSAGE
	local hconf = {}
	for k, v in pairs(conf) do
		hconf[k] = v
	end
	hconf.max_message = nil
	hconf.handler = function(stream)
		if handshake(stream) then
			local s = new_sock(stream, "server", max_message)
			handler(s)
			s:close_transport()
		end
	end
	return http.listen(hconf)
end

function M.connect(url, header, opts)
	if type(url) ~= "string" then
		error("websocket.connect: url must be a string, got " .. type(url), 2)
	end
	local hurl = url:gsub("^[wW][sS]", "http", 1)
	local key = base64.encode(utils.randomkey(16))
	local h = {}
	for k, v in pairs(header or {}) do
		h[k] = v
	end
	h.connection = "Upgrade"
	h.upgrade = "websocket"
	h["sec-websocket-version"] = "13"
	h["sec-websocket-key"] = key
	local stream, err = http.request("GET", hurl, h, false, opts)
	if not stream then
		return nil, err
	end
	local status, rh = stream:readheader()
	if status ~= 101 then
		stream:close()
		return nil, format("websocket.connect: %s", status and ("status " .. status) or rh)
	end
	if rh["sec-websocket-accept"] ~= accept_key(key) then
		stream:close()
		return nil, "websocket.connect: the server's sec-websocket-accept does not match"
	end
	return new_sock(stream, "client", opts and opts.max_message or DEFAULT_MAX_MESSAGE), nil
end

return M
