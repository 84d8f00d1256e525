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
local strerror = nc.strerror
local suspend = silly._suspend
local wake = silly._wake
local spawn = silly._spawn
local type = type
local error = error

local M = {}

-- id -> {reader = task|nil, eof = err string|nil}
local streams = {}
local listeners = {}

local stream_router = {
	accept = nil, -- set per listener
	data = function(id)
		local s = streams[id]
		if s and s.reader then
			local co = s.reader
			s.reader = nil
			wake(co)
		end
	end,
	close = function(id, err)
		local s = streams[id]
		if s then
			s.eof = err == 0 and "end of file" or strerror(err)
			local co = s.reader
			if co then
				s.reader = nil
				wake(co)
			end
		end
	end,
}

local function check_addr(fname, addr)
	if type(addr) ~= "string" then
		error(fname .. ": address string expected, got " .. type(addr), 3)
	end
	if not addr:find(":%w+$") then
		error(fname .. ": address needs a port ('ip:port'), got '" .. addr .. "'", 3)
	end
end

function M.listen(addr, fn, backlog)
	check_addr("tcp.listen", addr)
	if type(fn) ~= "function" then
		error("tcp.listen: function expected, got " .. type(fn), 2)
	end
	local router = {
		data = stream_router.data,
		close = stream_router.close,
		accept = function(id, _, peer)
			streams[id] = {}
			spawn(function()
				local ok, err = silly.pcall(fn, id, peer)
				if not ok then
					logger.error("[tcp] handler error:", err)
					M.close(id)
				end
			end)
		end,
	}
	local id, err = net._listen(addr, backlog or 256, nc.STREAM, router)
	if not id then
		logger.error("[tcp] listen", addr, "failed:", err)
		return nil, err
	end
	listeners[id] = true
	return id
end

-- connect(addr [, bind [, timeout_ms]])
function M.connect(addr, bind, timeout)
	check_addr("tcp.connect", addr)
	local id, err = net._connect("tcp.connect", addr, bind, timeout, nc.STREAM, stream_router)
	if id then
		streams[id] = {}
	end
	return id, err
end

local function wait_data(fname, fd, s)
	if s.reader then
		error(fname .. ": another task is already reading this socket", 4)
	end
	s.reader = silly.running()
	nc.resume(fd) -- reading may be paused by limit()
	local err = suspend(fname, "WAIT")
	return err
end

-- Takes what `take(fd, arg)` finds buffered, waiting for more bytes until
-- it finds it or the stream ends.
local function read_with(fname, take, fd, arg)
	while true do
		local d = take(fd, arg)
		if d then
			return d
		end
		local s = streams[fd]
		if not s then
			return nil, "socket closed"
		end
		if s.eof then
			return nil, s.eof
		end
		local err = wait_data(fname, fd, s)
		if err then
			return nil, err
		end
	end
end

function M.read(fd, n)
	if type(n) ~= "number" then
		error("tcp.read: byte count expected, got " .. type(n), 2)
	end
	return read_with("tcp.read", cread, fd, n)
end

function M.readline(fd, delim)
	delim = delim or "\n"
	if type(delim) ~= "string" or delim == "" then
		error("tcp.readline: non-empty delimiter expected", 2)
	end
	return read_with("tcp.readline", creadline, fd, delim)
end

function M.readall(fd, max)
	local d = nc.readall(fd, max)
	if d == "" then
		local s = streams[fd]
		if s and s.eof then
			return nil, s.eof
		end
	end
	return d
end

function M.write(fd, data, size)
	local t = type(data)
	if t ~= "string" and t ~= "table" and t ~= "userdata" then
		error("tcp.write: string, table or lightuserdata expected, got " .. t, 2)
	end
	return nc.send(fd, data, size)
end

function M.close(fd)
	local s = streams[fd]
	if not s then
		if listeners[fd] then
			listeners[fd] = nil
			net._forget(fd)
			return nc.close(fd)
		end
		return false, "socket closed"
	end
	streams[fd] = nil
	net._forget(fd)
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
