-- silly.net.tls: TLS streams with the shape of silly.net.tcp.
--
-- A TLS socket is a tcp socket whose bytes the socket layer encrypts and
-- decrypts (OpenSSL, core/tls.h); a handler or a connect meets it only
-- once its handshake is done, and read, readline, readall, write, close
-- and limit work on it as on any tcp socket.
--
--   tls.listen(addr, handler, {cert = , key = [, ca = , verify = , handshake = ]} | ctx [, backlog])
--   tls.connect(addr, {ca = , servername = [, cert = , key = , verify = , handshake = , bind = , timeout = ]} | ctx)
--   tls.context(opts [, "server"]) -> ctx, whose ctx:reload() re-reads its files
local tcp = require "silly.net.tcp"
local tc = require "silly.tls.c"

local type = type
local pairs = pairs
local error = error
local getmetatable = getmetatable

local M = {}

local FIELDS = {
	cert = true, key = true, ca = true, verify = true, servername = true, handshake = true,
	bind = true, timeout = true,
}

local function is_context(v)
	local mt = getmetatable(v)
	return type(v) == "userdata" and mt ~= nil and mt.__name == "silly.tls.context"
end

local function make(fname, opts, server)
	if type(opts) ~= "table" then
		error(fname .. ": options table expected, got " .. type(opts), 3)
	end
	for k in pairs(opts) do
		if not FIELDS[k] then
			error(fname .. ": unknown option '" .. tostring(k) .. "'", 3)
		end
	end
	return tc.context({
		server = server, cert = opts.cert, key = opts.key, ca = opts.ca, verify = opts.verify,
		servername = opts.servername, handshake = opts.handshake,
	}, fname)
end

-- A context to share between listens or connects, and to reload: for a
-- listener when `side` is "server".
function M.context(opts, side)
	return make("tls.context", opts, side == "server")
end

function M.listen(addr, handler, opts, backlog)
	local ctx = is_context(opts) and opts or make("tls.listen", opts, true)
	return tcp._listen("tls.listen", addr, handler, backlog, ctx)
end

function M.connect(addr, opts)
	opts = opts or {}
	local ctx = is_context(opts) and opts or make("tls.connect", opts, false)
	local bind = not is_context(opts) and opts.bind or nil
	local timeout = not is_context(opts) and opts.timeout or nil
	return tcp._connect("tls.connect", addr, bind, timeout, ctx)
end

M.read = tcp.read
M.readline = tcp.readline
M.readall = tcp.readall
M.write = tcp.write
M.close = tcp.close
M.limit = tcp.limit
M.recvsize = tcp.recvsize
M.sendsize = tcp.sendsize
M.isalive = tcp.isalive
M.sockname = tcp.sockname

return M
