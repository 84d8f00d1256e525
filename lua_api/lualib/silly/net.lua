-- silly.net: the low-level socket layer. Each socket has one record here
-- holding the script's handler table ({accept=, data=, close=}); accepted
-- sockets get their listener's. Every event runs in a new task, `data`
-- receives a malloc'd (ptr, size) it owns, and `close` an error string.
local silly = require "silly"
local c = require "silly.c"
local nc = require "silly.net.c"

local spawn = silly._spawn
local strerror = nc.strerror
local type = type
local error = error

local M = {}

local socks = {} -- id -> {h = handler table, waiter = task connecting}

silly._on_wave(function() -- rebuilt at its new size after a wave of closes
	socks = silly._compact(socks)
end)

local function records()
	return socks
end

local EV_ACCEPT, EV_CONNECT, EV_DATA, EV_CLOSE = nc.EV_ACCEPT, nc.EV_CONNECT, nc.EV_DATA, nc.EV_CLOSE

nc.onevent(nc.RAW, function(ev, id, a, b)
	local s = socks[id]
	if ev == EV_DATA then -- a = ptr, b = size
		local data = s and s.h.data
		if data then
			spawn(data, id, a, b)
		else
			c.free(a)
		end
	elseif ev == EV_ACCEPT then -- a = listener, b = peer
		local l = M._listener(socks, id, a)
		if not l then
			return
		end
		socks[id] = {h = l.h}
		if l.h.accept then
			spawn(l.h.accept, id, a, b)
		end
	elseif ev == EV_CLOSE then -- a = status
		if s and s.h.close then
			spawn(s.h.close, id, strerror(a))
		end
	elseif ev == EV_CONNECT then -- a = status
		M._connected(s, a)
	end
end)

-- Internal, for the modules that listen: the record of the listener that
-- accepted `id`, or nil when it is gone (the connection is closed then).
function M._listener(recs, id, lid)
	local l = recs[lid]
	if not l then
		nc.close(id)
	end
	return l
end

-- Internal, for the modules that connect: starts a connect whose record
-- `rec` goes into the table `records_of()` returns under the new id, and
-- suspends until it is done (the module may rebuild that table meanwhile,
-- after a wave of closed sockets). `start(rec)` makes the socket and
-- returns its id or nil, err; _connected(rec, status) is what the module
-- calls on its connect event.
-- `describe(status)`, if given, words a failure instead of strerror.
function M._connect(fname, records_of, rec, start, describe)
	local co = silly._checkblock(fname)
	local id, err = start()
	if not id then
		return nil, err
	end
	rec.waiter = co
	records_of()[id] = rec
	local status = silly._suspend(fname, "WAIT")
	if status ~= 0 then
		records_of()[id] = nil
		return nil, (describe or strerror)(status)
	end
	return id
end

-- Internal: resolves "name:port" through silly.net.dns; numeric forms pass through.
function M._resolve(addr)
	local host = addr:match("^%[(.-)%]:%w+$")
	if host then
		return addr
	end
	local port
	host, port = addr:match("^(.-):(%w+)$")
	if not host then
		return nil, "invalid address:" .. addr
	end
	local dns = require "silly.net.dns"
	if not dns.isname(host) then
		return addr
	end
	local ip, err = dns.lookup(host, dns.A)
	if ip then
		return ip .. ":" .. port
	end
	local ip6 = dns.lookup(host, dns.AAAA)
	if ip6 then
		return "[" .. ip6 .. "]:" .. port
	end
	return nil, "cannot resolve " .. host .. ": " .. tostring(err)
end

function M._connected(rec, status)
	local co = rec and rec.waiter
	if co then
		rec.waiter = nil
		silly._wake(co, status)
	end
end

local function check_handlers(fname, h)
	if type(h) ~= "table" then
		error(fname .. ": handler table expected, got " .. type(h), 3)
	end
end

function M.tcplisten(addr, handlers, backlog)
	check_handlers("net.tcplisten", handlers)
	local id, err = nc.tcplisten(addr, backlog or 256, nc.RAW)
	if not id then
		return nil, err
	end
	socks[id] = {h = handlers}
	return id
end

function M.tcpconnect(addr, handlers, bind, timeout)
	check_handlers("net.tcpconnect", handlers)
	return M._connect("net.tcpconnect", records, {h = handlers}, function()
		return nc.tcpconnect(addr, bind, timeout or 0, nc.RAW)
	end)
end

function M.tcpsend(fd, data, size)
	return nc.send(fd, data, size)
end

function M.close(fd)
	if not socks[fd] then
		return false, "socket closed"
	end
	socks[fd] = nil
	return nc.close(fd)
end

M.sendsize = nc.sendsize

-- Releases a (ptr, size) handed to a data handler.
M.drop = c.free

return M
