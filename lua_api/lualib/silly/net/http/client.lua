-- silly.net.http.client: HTTP/1.1 requests over tcp or tls, one
-- connection each: a stream to write the request body on and read the
-- response from (readheader, read, readall, write, writechunk, close).
local net = require "silly.net"
local time = require "silly.time"
local tcp = require "silly.net.tcp"
local tls = require "silly.net.tls"
local wire = require "silly.net.http.wire"

local format = string.format
local setmetatable = setmetatable

local M = {}

local stream = {}
stream.__index = stream
stream.__close = function(s)
	s:close()
end

function stream:write(data)
	return self.transport.write(self.fd, data)
end

function stream:writechunk(data)
	if #data == 0 then
		return self.transport.write(self.fd, "0\r\n\r\n")
	end
	return self.transport.write(self.fd, {format("%x\r\n", #data), data, "\r\n"})
end

---The response's status and header, or nil and why (1xx answers skipped).
function stream:readheader()
	while true do
		local ok, err = wire.pump(self, wire.has_head)
		if not ok then
			return nil, err
		end
		local status, _, version, header = self.parser:head()
		if status >= 200 or status == 101 then
			self.status, self.header = status, header
			self.version = wire.version(version)
			return status, header
		end
		-- 100 Continue and other interim answers: the real one follows.
		local rest = self.parser:leftover()
		self.parser = wire.parser("response", self.header_limit, self.body_limit)
		if self.method == "HEAD" then
			self.parser:skipbody()
		end
		self.parser:feed(rest)
	end
end

stream.read = wire.read
stream.readall = wire.readall

function stream:close()
	local fd = self.fd
	if fd then
		self.fd = nil
		self.transport.close(fd)
	end
end

-- tls contexts of the client, by server name and trust settings: one
-- SSL_CTX serves every request to a host.
local contexts = setmetatable({}, {__mode = "v"})

local function tls_context(host, opts)
	local ca = opts and opts.ca
	local verify = not (opts and opts.verify == false)
	local key = format("%s|%s|%s", host, ca or "", verify)
	local ctx = contexts[key]
	if not ctx then
		ctx = tls.context({servername = host, ca = ca, verify = verify, alpn = {"http/1.1"}})
		contexts[key] = ctx
	end
	return ctx
end

-- Idle kept-alive connections by scheme, host, port and trust settings,
-- for the one-shot helpers (http.GET and the others): a game server that
-- calls the same API again pays no new TCP or TLS handshake.
local POOL_PER_HOST = 8
local POOL_IDLE_MS = 30000
local idle = {}

local function pool_key(scheme, host, port, opts)
	local t = opts and opts.tls
	return format("%s|%s|%d|%s|%s", scheme, host, port, t and t.ca or "", t and t.verify == false and "0" or "1")
end

-- A pooled connection that is still open, or nil.
local function take_idle(key)
	local list = idle[key]
	while list and #list > 0 do
		local c = list[#list]
		list[#list] = nil
		if c.transport.isalive(c.fd) and time.monotonic() < c.expires and c.transport.recvsize(c.fd) == 0 then
			return c
		end
		c.transport.close(c.fd)
	end
	return nil
end

local function connect(scheme, host, port, opts)
	local addr = host:find(":", 1, true) and format("[%s]:%d", host, port) or format("%s:%d", host, port)
	local err
	addr, err = net._resolve(addr)
	if not addr then
		return nil, err
	end
	if scheme == "https" then
		return tls.connect(addr, {context = tls_context(host, opts and opts.tls), timeout = opts and opts.timeout})
	end
	return tcp.connect(addr, nil, opts and opts.timeout)
end

---Puts the stream's connection back in the pool when its response was
---read to the end and the server keeps it; closes it otherwise.
function stream:release()
	local fd = self.fd
	if not fd then
		return
	end
	local p = self.parser
	if self.key and p:done() and p:keepalive() and p:leftover() == "" and self.transport.isalive(fd) then
		local list = idle[self.key] or {}
		idle[self.key] = list
		if #list < POOL_PER_HOST then
			self.fd = nil
			list[#list + 1] = {fd = fd, transport = self.transport, expires = time.monotonic() + POOL_IDLE_MS}
			return
		end
	end
	self:close()
end

---Connects (or, with opts.pool, takes a kept-alive connection) and sends
---the request head. opts: timeout (ms, connecting), tls = {ca =, verify =}
---(the server's certificate is checked against the system's store by
---default), header_limit, body_limit. Returns the stream, or nil and why.
function M.request(method, url, header, close, opts)
	local scheme, host, port, target = wire.parseurl(url)
	if not scheme then
		return nil, host
	end
	local key = opts and opts.pool and pool_key(scheme, host, port, opts)
	local c = key and take_idle(key)
	local fd, err
	if c then
		fd = c.fd
	else
		fd, err = connect(scheme, host, port, opts)
		if not fd then
			return nil, err
		end
	end
	header = header or {}
	local extra = ""
	if not wire.field(header, "host") then
		extra = ((port == 80 and scheme == "http") or (port == 443 and scheme == "https")) and
			format("host: %s\r\n", host) or format("host: %s:%d\r\n", host, port)
	end
	if close and not wire.field(header, "connection") then
		extra = extra .. "connection: close\r\n"
	end
	local s = setmetatable({
		fd = fd, transport = scheme == "https" and tls or tcp, method = method, scheme = scheme,
		key = key, reused = c ~= nil,
		header_limit = opts and opts.header_limit or 65536, body_limit = opts and opts.body_limit or 64 << 20,
	}, stream)
	s.parser = wire.parser("response", s.header_limit, s.body_limit)
	if method == "HEAD" then
		s.parser:skipbody()
	end
	local ok, werr = s.transport.write(fd, wire.compose("http.request", format("%s %s HTTP/1.1\r\n", method, target),
		header, extra))
	if not ok then
		s:close()
		return nil, werr
	end
	return s, nil
end

return M
