-- silly.net.http.server: one HTTP/1.1 connection served, request after
-- request (keep-alive, pipelining), each in the listener's handler as a
-- stream: fields fd, method, path, query, header, version, remoteaddr;
-- respond, write, writechunk, read, readall, close.
local silly = require "silly"
local time = require "silly.time"
local logger = require "silly.logger"
local wire = require "silly.net.http.wire"

local format = string.format
local tonumber = tonumber
local type = type
local setmetatable = setmetatable

local M = {}

local allowed = {GET = true, HEAD = true, POST = true, PUT = true, DELETE = true, OPTIONS = true, PATCH = true}
local form = "application/x-www-form-urlencoded"

local stream = {}
stream.__index = stream
stream.__close = function(s)
	s:close()
end

local function no_body(status, method)
	return method == "HEAD" or status == 204 or status == 304 or (status >= 100 and status < 200)
end

---Sends the status line and header. The body's framing is the header's:
---content-length, or transfer-encoding chunked; with neither, the body
---runs to the end of the connection ("connection: close" is added). With
---close true, the connection closes right after the head.
function stream:respond(status, header, close)
	if self.responded then
		error("http stream:respond: the response was already started", 2)
	end
	if math.type(status) ~= "integer" or status < 100 or status > 999 then
		error("http stream:respond: status must be an integer 100..999, got " .. tostring(status), 2)
	end
	self.responded = true
	local len = wire.field(header, "content-length")
	local te = wire.field(header, "transfer-encoding")
	local extra = ""
	if no_body(status, self.method) then
		self.remain = 0
	elseif len then
		self.remain = tonumber(len)
	elseif te and tostring(te):lower():find("chunked", 1, true) then
		self.chunked = true
	elseif not close then
		self.keep = false
		extra = "connection: close\r\n"
	end
	if self.keep == false and not wire.field(header, "connection") and extra == "" then
		extra = "connection: close\r\n"
	end
	local text = wire.status_text[status] or "Unknown"
	local ok, err = self.transport.write(self.fd, wire.compose("http stream:respond",
		format("HTTP/1.1 %d %s\r\n", status, text), header, extra))
	if close then
		self:close()
	end
	return ok, err
end

---Writes body bytes as they are (counted against content-length).
function stream:write(data)
	if self.remain then
		self.remain = self.remain - #data
	end
	self.raw = true
	return self.transport.write(self.fd, data)
end

---Writes one chunk of a chunked body (an empty one is skipped: it would
---end the body).
function stream:writechunk(data)
	if #data == 0 then
		return true
	end
	self.chunks = true
	return self.transport.write(self.fd, {format("%x\r\n", #data), data, "\r\n"})
end

---Ends the response, with `data` as its last bytes. The connection stays
---open for the next request when the response was framed and complete;
---otherwise it closes.
function stream:close(data)
	if self.finished then
		return
	end
	self.finished = true
	local fd = self.fd
	if data and #data > 0 then
		if self.chunked and (self.chunks or not self.raw) then
			self:writechunk(data)
		else
			self:write(data)
		end
	end
	if self.chunked and self.chunks then
		self.transport.write(fd, "0\r\n\r\n")
		self.remain = 0
	end
	if not self.responded or self.remain ~= 0 or not self.keep then
		self.keep = false
		self.transport.close(fd)
	end
end

stream.read = wire.read
stream.readall = wire.readall

-- Writes a short response with its own body and ends the connection.
local function refuse(transport, fd, status, extra)
	local body = wire.status_text[status] .. "\n"
	transport.write(fd, format("HTTP/1.1 %d %s\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n" ..
		"connection: close\r\n%s\r\n%s", status, wire.status_text[status], #body, extra or "", body))
	transport.close(fd)
end

-- Why a request head did not parse, as a status: the original framework
-- answers a bad method or request line with 405.
local function status_for(err)
	if err:find("header limit", 1, true) then
		return 431
	elseif err:find("body limit", 1, true) then
		return 413
	elseif err:find("method", 1, true) or err:find("target", 1, true) or err:find("version", 1, true) then
		return 405
	end
	return 400
end

-- Reads the next request head within `ms`; the parser, or nil (the
-- connection is done: closed, timed out, or answered with an error).
local function next_head(conf, transport, fd, leftover, ms)
	local p = wire.parser("request", conf.header_limit, conf.body_limit)
	local s = {parser = p, transport = transport, fd = fd}
	local timer = time.after(ms, function()
		transport.close(fd)
	end)
	local ok, err = true, nil
	if leftover ~= "" then
		ok, err = p:feed(leftover)
	end
	if ok then
		ok, err = wire.pump(s, wire.has_head)
	end
	time.cancel(timer)
	if ok then
		return p
	end
	if err and transport.isalive(fd) and not err:find("end of file", 1, true) then
		refuse(transport, fd, status_for(err))
	end
	return nil
end

local function new_stream(p, transport, fd, addr, scheme)
	local method, target, version, header = p:head()
	local path, query = wire.parsetarget(target)
	return setmetatable({
		fd = fd, transport = transport, parser = p, method = method, target = target, path = path, query = query,
		header = header, version = wire.version(version), remoteaddr = addr,
		scheme = scheme, keep = p:keepalive(),
	}, stream)
end

-- The request's own checks before the handler sees it; false when it was
-- answered here.
local function admit(s, transport, fd)
	if not allowed[s.method] then
		refuse(transport, fd, 405, "allow: GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH\r\n")
		return false
	end
	if s.version ~= "1.1" and s.version ~= "1.0" then
		refuse(transport, fd, 505)
		return false
	end
	local expect = s.header.expect
	if type(expect) == "string" and expect:lower() == "100-continue" then
		transport.write(fd, "HTTP/1.1 100 Continue\r\n\r\n")
	end
	if type(s.header["content-type"]) == "string" and s.header["content-type"]:find(form, 1, true) then
		local body = s:readall()
		if not body then
			return false
		end
		wire.parsequery(body, s.query)
		s.unread = body -- the handler may still read it
	end
	return true
end

-- After the handler: true when the connection can take the next request
-- (the response was complete and framed, the request's body read).
local function reusable(s, transport, fd)
	if s.upgraded or s.finished and not s.keep or not transport.isalive(fd) then
		return false
	end
	if not s.finished then
		if not s.responded then
			logger.error("[http] handler returned without a response:", s.method, s.target)
			refuse(transport, fd, 500)
			return false
		end
		s:close()
		if not s.keep then
			return false
		end
	end
	if not s.parser:done() then -- the handler left the body unread: read it (within the body limit)
		return s:readall() ~= nil
	end
	return true
end

-- Serves connection `fd` until it closes. conf: handler, header_limit,
-- body_limit, header_timeout, keepalive_timeout.
function M.serve(conf, transport, fd, addr, scheme)
	local leftover, first = "", true
	while true do
		local p = next_head(conf, transport, fd, leftover, first and conf.header_timeout or conf.keepalive_timeout)
		if not p then
			break
		end
		first = false
		local s = new_stream(p, transport, fd, addr, scheme)
		if not admit(s, transport, fd) then
			break
		end
		local ok, err = silly.pcall(conf.handler, s)
		if not ok then
			logger.error("[http] handler error:", err)
			if not s.responded and transport.isalive(fd) then
				refuse(transport, fd, 500)
			end
			break
		end
		if not reusable(s, transport, fd) then
			break
		end
		leftover = p:leftover()
	end
	transport.close(fd)
end

return M
