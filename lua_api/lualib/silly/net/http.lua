-- silly.net.http: HTTP/1.1 server and client, on silly.net.tcp and
-- silly.net.tls, with messages parsed by Boost.Beast's parser (silly.http.c).
--
-- http.listen{addr, handler, tls, certs, alpnprotos, header_limit,
--   body_limit, header_timeout, keepalive_timeout} -> server (server:close()),
--   or nil and why. handler(stream) runs in a task per request.
-- http.request(method, url[, header[, close[, opts]]]) -> client stream.
-- http.GET(url[, header[, opts]]), http.POST(url, header, body[, opts]) ->
--   {status, header, body}, or nil and why; on kept-alive connections
--   pooled per host (8 idle at most, 30 s).
local tcp = require "silly.net.tcp"
local tls = require "silly.net.tls"
local server = require "silly.net.http.server"
local client = require "silly.net.http.client"

local type = type
local setmetatable = setmetatable

local M = {}

-- Defaults a studio can live with: 64 KiB of header (a thousand fields),
-- 8 MiB of request body, 30 s to send a request head (a slow client holds a
-- connection no longer), 60 s idle between requests.
local defaults = {
	header_limit = 64 * 1024,
	body_limit = 8 * 1024 * 1024,
	header_timeout = 30000,
	keepalive_timeout = 60000,
}

local server_mt = {__index = {
	close = function(self)
		local fd = self.fd
		if fd then
			self.fd = nil
			self.transport.close(fd)
		end
	end,
}}

local function check_conf(conf)
	if type(conf) ~= "table" then
		error("http.listen: a table {addr = , handler = } expected, got " .. type(conf), 3)
	end
	if type(conf.addr) ~= "string" then
		error("http.listen: addr must be \"ip:port\", got " .. type(conf.addr), 3)
	end
	if type(conf.handler) ~= "function" then
		error("http.listen: handler must be a function, got " .. type(conf.handler), 3)
	end
	local c = {handler = conf.handler}
	for k, v in pairs(defaults) do
		local given = conf[k]
		if given ~= nil and (math.type(given) ~= "integer" or given <= 0) then
			error("http.listen: " .. k .. " must be a positive integer", 3)
		end
		c[k] = given or v
	end
	return c
end

---@return table? server
---@return string? err
function M.listen(conf)
	local c = check_conf(conf)
	local fd, err, transport
	if conf.tls then
		transport = tls
		fd, err = tls.listen {
			addr = conf.addr, certs = conf.certs, ciphers = conf.ciphers, backlog = conf.backlog,
			alpnprotos = conf.alpnprotos or {"http/1.1"},
			disp = function(cfd, addr)
				server.serve(c, tls, cfd, addr, "https")
			end,
		}
	else
		transport = tcp
		fd, err = tcp.listen(conf.addr, function(cfd, addr)
			server.serve(c, tcp, cfd, addr, "http")
		end, conf.backlog)
	end
	if not fd then
		return nil, err
	end
	return setmetatable({fd = fd, transport = transport}, server_mt), nil
end

M.request = client.request

-- Methods a request may be sent again for, when a kept-alive connection
-- turned out closed before any answer came (RFC 9110, 9.2.2).
local idempotent = {GET = true, HEAD = true, PUT = true, DELETE = true, OPTIONS = true}
local POOLED = {pool = true}

-- Sends the body, reads the whole response; nil, why and whether nothing
-- of an answer arrived.
local function once(s, body)
	if body and #body > 0 then
		local ok, werr = s:write(body)
		if not ok then
			return nil, werr, true
		end
	end
	local status, rheader = s:readheader()
	if not status then
		return nil, rheader, true
	end
	local rbody, rerr = s:readall()
	if not rbody then
		return nil, rerr, false
	end
	return {status = status, header = rheader, body = rbody}, nil, false
end

-- One request, its whole response read, on a kept-alive connection from
-- the pool when one is idle.
local function exchange(method, url, header, body, opts)
	if body then
		header = header or {}
		header["content-length"] = #body
	end
	local o = POOLED
	if opts then
		o = {pool = true}
		for k, v in pairs(opts) do
			o[k] = v
		end
	end
	for attempt = 1, 2 do
		local s, err = client.request(method, url, header, false, o)
		if not s then
			return nil, err
		end
		local res, rerr, unanswered = once(s, body)
		if res then
			s:release()
			return res, nil
		end
		s:close()
		if not (unanswered and s.reused and idempotent[method] and attempt == 1) then
			return nil, rerr
		end
	end
end

function M.GET(url, header, opts)
	return exchange("GET", url, header, nil, opts)
end

function M.POST(url, header, body, opts)
	return exchange("POST", url, header, body or "", opts)
end

function M.PUT(url, header, body, opts)
	return exchange("PUT", url, header, body or "", opts)
end

function M.DELETE(url, header, opts)
	return exchange("DELETE", url, header, nil, opts)
end

return M
