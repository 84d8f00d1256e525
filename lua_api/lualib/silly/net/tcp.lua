-- silly.net.tcp: stream sockets read with read/readline from a task.
--
-- Received bytes stay in the socket's ring buffer in C++; a reader asks for
-- n bytes or a line and sleeps only when they are not there yet.
local silly = require "silly"
local net = require "silly.net"
local nc = require "silly.net.c"
local logger = require "silly.logger"

local cread = nc.read
local creadline = nc.readline
local creadall = nc.readall
local strerror = nc.strerror
local suspending = silly._suspending
local co_yield = coroutine.yield
local co_running = coroutine.running
local wake = silly._wake
local spawn_bare = silly._spawn_bare
local type = type
local error = error

local M = {}

-- id -> {listener = handler} for a listener; {[1] = the task serving an
-- accepted stream, reader = task|nil, eof = err string|nil, waiter = task
-- connecting} for a stream. Rebuilt after a wave of closed sockets.
local socks = {}

local EV_ACCEPT, EV_CONNECT, EV_DATA, EV_CLOSE = nc.EV_ACCEPT, nc.EV_CONNECT, nc.EV_DATA, nc.EV_CLOSE

local function wake_reader(s)
	local co = s.reader
	if co then
		s.reader = nil
		wake(co)
	end
end

-- A connection's task runs the listener's handler as it is: no closure
-- and no protected call per connection (a pcall frame would make every
-- blocked task's stack larger). When a handler raises, the scheduler logs
-- the error and the hook below closes the connections that task served.
local function serve(fn, id, peer)
	local s = socks[id]
	if s then
		s[1] = silly.running()
	end
	return fn(id, peer)
end

silly._on_task_error(function(co)
	for id, s in pairs(socks) do
		if s[1] == co then
			logger.error("[tcp] closing", id, "after its handler's error")
			M.close(id)
		end
	end
end)

silly._on_wave(function()
	socks = silly._compact(socks)
end)

local function records()
	return socks
end

nc.onevent(nc.STREAM, function(ev, id, a, b)
	local s = socks[id]
	if ev == EV_DATA then
		if s then
			wake_reader(s)
		end
	elseif ev == EV_ACCEPT then -- a = listener, b = peer
		local l = net._listener(socks, id, a)
		if not l then
			return
		end
		socks[id] = {}
		spawn_bare(serve, l.listener, id, b)
	elseif ev == EV_CLOSE then -- a = status
		if s then
			s.eof = strerror(a)
			wake_reader(s)
		end
	elseif ev == EV_CONNECT then -- a = status
		net._connected(s, a)
	end
end)

-- Called from _listen and _connect: the error names the script's line.
local function check_addr(fname, addr)
	if type(addr) ~= "string" then
		error(fname .. ": address string expected, got " .. type(addr), 4)
	end
	if not addr:find(":%w+$") then
		error(fname .. ": address needs a port ('ip:port'), got '" .. addr .. "'", 4)
	end
end

-- Internal, shared with silly.net.tls: a listen or connect whose streams
-- are TLS when `ctx` (a silly.tls.c context) is given.
function M._listen(fname, addr, fn, backlog, ctx)
	check_addr(fname, addr)
	if type(fn) ~= "function" then
		error(fname .. ": function expected, got " .. type(fn), 3)
	end
	local id, err = nc.tcplisten(addr, backlog or 256, nc.STREAM, ctx)
	if not id then
		logger.error("[tcp] listen", addr, "failed:", err)
		return nil, err
	end
	socks[id] = {listener = fn}
	return id
end

function M._connect(fname, addr, bind, timeout, ctx)
	check_addr(fname, addr)
	return net._connect(fname, records, {}, function()
		return nc.tcpconnect(addr, bind, timeout or 0, nc.STREAM, ctx)
	end)
end

function M.listen(addr, fn, backlog)
	return M._listen("tcp.listen", addr, fn, backlog)
end

-- connect(addr [, bind [, timeout_ms]])
function M.connect(addr, bind, timeout)
	return M._connect("tcp.connect", addr, bind, timeout)
end

-- Takes what `take(fd, arg)` (cread or creadline) finds buffered, waiting
-- for more bytes until it finds it or the stream ends. While a read waits,
-- reading goes on (past the socket's limit() if need be) until the ring
-- holds the bytes asked for; a readline, twice what it holds (64 KiB more
-- at least).
-- A server holds one task blocked here per idle connection. Lua gives each
-- C call 20 free slots, and a task's stack starts with 40: the handler's
-- frame, this one and the deepest C call from it must fit, or Lua doubles
-- the stack (+0.7 KB a connection, kept while the task lives). Hence three
-- parameters, C called only from this frame with few registers live, and
-- the yield made here.
local function read_with(take, fd, arg)
	while true do
		do
			local d = take(fd, arg)
			if d then
				return d
			end
		end
		do
			local co = co_running()
			local s = socks[fd]
			if not s or s.listener then
				return nil, "socket closed"
			end
			if s.eof then
				return nil, s.eof
			end
			local fname = take == cread and "tcp.read" or take == creadline and "tcp.readline" or "tcp.readsome"
			if s.reader then
				error(fname .. ": another task is already reading this socket", 3)
			end
			s.reader = suspending(co, fname, "WAIT")
		end
		nc.resume(fd, take == cread and arg or take == creadline and -1 or 1)
		local err = co_yield("WAIT")
		if err then
			return nil, err
		end
	end
end

function M.read(fd, n)
	if type(n) ~= "number" then
		error("tcp.read: byte count expected, got " .. type(n), 2)
	end
	return read_with(cread, fd, n)
end

function M.readline(fd, delim)
	delim = delim or "\n"
	if type(delim) ~= "string" or delim == "" then
		error("tcp.readline: non-empty delimiter expected", 2)
	end
	return read_with(creadline, fd, delim)
end

-- What is buffered, up to max bytes; nil when nothing is (readsome waits).
local function creadsome(fd, max)
	local d = creadall(fd, max)
	if d ~= "" then
		return d
	end
	return nil
end

-- readsome(fd [, max]): at least one byte, and up to max (all that is
-- buffered when max is not given), waiting for the first; nil and why
-- once the stream ended. What a protocol parser that takes any amount
-- reads with.
function M.readsome(fd, max)
	if max ~= nil and (math.type(max) ~= "integer" or max < 1) then
		error("tcp.readsome: positive integer byte count expected", 2)
	end
	return read_with(creadsome, fd, max)
end

function M.readall(fd, max)
	local s = socks[fd]
	if not s or s.listener then
		return nil, "socket closed"
	end
	local d = nc.readall(fd, max)
	if d == "" and s.eof then
		return nil, s.eof
	end
	return d
end

-- write(fd, data [, size]): a C function, no Lua frame (see read_with).
M.write = nc.sender("tcp.write")

function M.close(fd)
	local s = socks[fd]
	if not s then
		return false, "socket closed"
	end
	socks[fd] = nil
	local co = s.reader
	if co then
		s.reader = nil
		wake(co, "active closed")
	end
	return nc.close(fd)
end

-- The local "ip:port" of a socket, e.g. the port a listener on :0 got.
M.sockname = nc.sockname
M.limit = nc.limit
M.recvsize = nc.recvsize
M.sendsize = nc.sendsize
M.isalive = nc.isalive
-- Caps the bytes queued for sending on fd; writes beyond fail.
M.sendlimit = nc.sendlimit

return M
