-- silly.net: the low-level socket layer. Events for a socket go to the
-- handler table registered with it; accepted sockets inherit their
-- listener's table.
--
-- For tables given by scripts ({accept=, data=, close=}), every event runs
-- in a new task, `data` receives a malloc'd (ptr, size) it owns, and
-- `close` receives an error string. Modules of the runtime register
-- internal routers instead (see `_route`), which run inline.
local silly = require "silly"
local c = require "silly.c"
local nc = require "silly.net.c"

local spawn = silly._spawn
local strerror = nc.strerror
local type = type
local error = error

local M = {}

local routes = {} -- id -> router {accept=f, data=f, close=f}
local connecting = {} -- id -> waiting task
M._routes = routes

local EV = silly._EV
local H = silly._handlers

H[EV.accept] = function(lid, id, peer)
	local r = routes[lid]
	if not r then
		nc.close(id)
		return
	end
	routes[id] = r
	r.accept(id, lid, peer)
end

H[EV.connect] = function(id, err)
	local co = connecting[id]
	if co then
		connecting[id] = nil
		silly._wake(co, err)
	end
end

H[EV.data] = function(id, ptr, size)
	local r = routes[id]
	if r then
		r.data(id, ptr, size)
	elseif ptr then
		c.free(ptr)
	end
end

H[EV.close] = function(id, err)
	local r = routes[id]
	if r then
		r.close(id, err)
	end
end

H[EV.udp] = function(id, data, addr)
	local r = routes[id]
	if r then
		r.data(id, data, addr)
	end
end

-- Internal: listen with a router.
function M._listen(addr, backlog, mode, router)
	local id, err = nc.tcplisten(addr, backlog, mode)
	if not id then
		return nil, err
	end
	routes[id] = router
	return id
end

-- Internal: connect with a router; suspends until connected or failed.
function M._connect(fname, addr, bind, timeout, mode, router)
	silly._checkblock(fname)
	local id, err = nc.tcpconnect(addr, bind, timeout or 0, mode)
	if not id then
		return nil, err
	end
	routes[id] = router
	connecting[id] = silly.running()
	local code = silly._suspend(fname, "WAIT")
	if code ~= 0 then
		routes[id] = nil
		return nil, strerror(code)
	end
	return id
end

function M._forget(id)
	routes[id] = nil
end

-- Wraps a script's handler table: each event in its own task.
local function script_router(h)
	local accept, data, close = h.accept, h.data, h.close
	return {
		accept = function(id, lid, peer)
			if accept then
				spawn(accept, id, lid, peer)
			end
		end,
		data = function(id, ptr, size)
			if data then
				spawn(data, id, ptr, size)
			else
				c.free(ptr)
			end
		end,
		close = function(id, err)
			if close then
				spawn(close, id, err == 0 and "end of file" or strerror(err))
			end
		end,
	}
end

local function check_handlers(fname, h)
	if type(h) ~= "table" then
		error(fname .. ": handler table expected, got " .. type(h), 3)
	end
end

function M.tcplisten(addr, handlers, backlog)
	check_handlers("net.tcplisten", handlers)
	return M._listen(addr, backlog or 256, nc.RAW, script_router(handlers))
end

function M.tcpconnect(addr, handlers, bind, timeout)
	check_handlers("net.tcpconnect", handlers)
	return M._connect("net.tcpconnect", addr, bind, timeout, nc.RAW, script_router(handlers))
end

function M.tcpsend(fd, data, size)
	return nc.send(fd, data, size)
end

function M.close(fd)
	if not routes[fd] then
		return false, "socket closed"
	end
	routes[fd] = nil
	return nc.close(fd)
end

M.sendsize = nc.sendsize

-- Releases a (ptr, size) handed to a data handler.
M.drop = c.free

return M
