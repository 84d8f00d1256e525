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
-- The options may also carry certs = {{cert = <PEM text>, key = <PEM text>}},
-- ciphers = "<OpenSSL cipher list>" and alpn = {"h2", "http/1.1", ...}.
--
-- The original framework's forms work too:
--   tls.listen{addr = , certs = {{cert = <PEM text>, key = <PEM text>}},
--              ciphers = , alpnprotos = , backlog = , disp = fn(fd, addr)}
--   tls.connect(addr [, bind [, hostname [, alpnprotos]]]): no check of the
--              server's certificate (as there), hostname sent as SNI
--   tls.reload(listener [, conf]): new certs, ciphers or alpnprotos for
--              the streams it accepts from now on
--   tls.alpnproto(fd): the protocol the handshake agreed, or nil
local tcp = require "silly.net.tcp"
local tc = require "silly.tls.c"
local nc = require "silly.net.c"

local type = type
local pairs = pairs
local error = error
local getmetatable = getmetatable

local M = {}

local FIELDS = {
	cert = true, key = true, ca = true, verify = true, servername = true, handshake = true,
	bind = true, timeout = true, certs = true, ciphers = true, alpn = true,
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
		servername = opts.servername, handshake = opts.handshake, certs = opts.certs, ciphers = opts.ciphers,
		alpn = opts.alpn,
	}, fname)
end

-- A context to share between listens or connects, and to reload: for a
-- listener when `side` is "server".
function M.context(opts, side)
	return make("tls.context", opts, side == "server")
end

-- listener id -> its context and the original form's settings, for reload
local listeners = {}

-- tls.listen{addr = , certs = , ciphers = , alpnprotos = , backlog = , disp = }
local function listen_conf(conf)
	if type(conf.disp) ~= "function" then
		error("tls.listen: conf.disp (a function) expected, got " .. type(conf.disp), 3)
	end
	local settings = {certs = conf.certs, ciphers = conf.ciphers, alpn = conf.alpnprotos}
	if settings.certs == nil then
		error("tls.listen: conf.certs expected ({{cert = <PEM text>, key = <PEM text>}, ...})", 3)
	end
	local ctx = make("tls.listen", settings, true)
	local id, err = tcp._listen("tls.listen", conf.addr, conf.disp, conf.backlog, ctx)
	if id then
		listeners[id] = {ctx = ctx, settings = settings}
	end
	return id, err
end

function M.listen(addr, handler, opts, backlog)
	if type(addr) == "table" then
		return listen_conf(addr)
	end
	local ctx = is_context(opts) and opts or make("tls.listen", opts, true)
	local id, err = tcp._listen("tls.listen", addr, handler, backlog, ctx)
	if id then
		listeners[id] = {ctx = ctx}
	end
	return id, err
end

-- tls.reload(listener [, conf]): conf's certs, ciphers and alpnprotos
-- replace the listener's own for the streams it accepts from now on; a
-- listener made with files reads them again. true, or false and why.
function M.reload(fd, conf)
	local l = listeners[fd]
	if not l or not tcp.isalive(fd) then
		listeners[fd] = nil
		return false, "not a TLS listener"
	end
	if not l.settings then -- files: read them again
		local ok, err = l.ctx:reload()
		return ok == true, err
	end
	if conf ~= nil and type(conf) ~= "table" then
		error("tls.reload: conf table expected, got " .. type(conf), 2)
	end
	local settings = {certs = l.settings.certs, ciphers = l.settings.ciphers, alpn = l.settings.alpn}
	if conf then
		settings.certs = conf.certs or settings.certs
		settings.ciphers = conf.ciphers or settings.ciphers
		settings.alpn = conf.alpnprotos or settings.alpn
	end
	local ok, err = l.ctx:reconfigure(settings)
	if not ok then
		return false, err
	end
	l.settings = settings
	return true
end

-- The protocol the handshake of fd agreed through ALPN, or nil.
function M.alpnproto(fd)
	return nc.alpn(fd)
end

function M.close(fd)
	listeners[fd] = nil
	return tcp.close(fd)
end

-- tls.connect(addr, bind, hostname, alpnprotos): the original's form.
local function connect_args(addr, bind, hostname, alpn)
	if bind ~= nil and type(bind) ~= "string" then
		error("tls.connect: bind must be an address string, got " .. type(bind), 3)
	end
	local ctx = make("tls.connect", {verify = false, servername = hostname, alpn = alpn}, false)
	return tcp._connect("tls.connect", addr, bind, nil, ctx)
end

function M.connect(addr, opts, hostname, alpn)
	if opts ~= nil and type(opts) ~= "table" and not is_context(opts) or hostname ~= nil or alpn ~= nil then
		return connect_args(addr, opts, hostname, alpn)
	end
	opts = opts or {}
	-- opts.context: a context made once (tls.context) with this connect's
	-- bind and timeout.
	local ctx = is_context(opts) and opts or is_context(opts.context) and opts.context or
		make("tls.connect", opts, false)
	local bind = not is_context(opts) and opts.bind or nil
	local timeout = not is_context(opts) and opts.timeout or nil
	return tcp._connect("tls.connect", addr, bind, timeout, ctx)
end

M.read = tcp.read
M.readline = tcp.readline
M.readall = tcp.readall
M.readsome = tcp.readsome
M.write = tcp.write
M.limit = tcp.limit
M.recvsize = tcp.recvsize
M.sendsize = tcp.sendsize
M.isalive = tcp.isalive
M.sockname = tcp.sockname

return M
