-- silly.net.udp: datagram sockets; recvfrom suspends until one arrives.
local silly = require "silly"
local net = require "silly.net"
local nc = require "silly.net.c"

local M = {}

-- id -> {queue of {data, addr}, reader task}
local socks = {}

local router = {
	data = function(id, data, addr)
		local s = socks[id]
		if not s then
			return
		end
		if s.reader then
			local co = s.reader
			s.reader = nil
			silly._wake(co, {data, addr})
		else
			s.q[#s.q + 1] = {data, addr}
		end
	end,
	-- An ICMP error for an earlier send (a refused or unreachable peer).
	close = function(id, err)
		local s = socks[id]
		if s and s.reader then
			local co = s.reader
			s.reader = nil
			silly._wake(co, {nil, nc.strerror(err)})
		end
	end,
}

local function track(id, err)
	if not id then
		return nil, err
	end
	socks[id] = {q = {}}
	net._routes[id] = router
	return id
end

function M.bind(addr)
	return track(nc.udpbind(addr))
end

function M.connect(addr)
	return track(nc.udpconnect(addr))
end

function M.sendto(fd, data, addr)
	return nc.sendto(fd, data, addr)
end

function M.send(fd, data)
	return nc.sendto(fd, data)
end

-- recvfrom(fd) -> data, addr | nil, err
function M.recvfrom(fd)
	local s = socks[fd]
	if not s then
		return nil, "socket closed"
	end
	local item = table.remove(s.q, 1)
	if not item then
		if s.reader then
			error("udp.recvfrom: another task is already reading this socket", 2)
		end
		silly._checkblock("udp.recvfrom")
		s.reader = silly.running()
		item = silly._suspend("udp.recvfrom", "WAIT")
		if not item or item == "active closed" then
			return nil, "active closed"
		end
	end
	if item[1] == nil then
		return nil, item[2]
	end
	return item[1], item[2]
end

function M.close(fd)
	local s = socks[fd]
	if not s then
		return false, "socket closed"
	end
	socks[fd] = nil
	net._forget(fd)
	if s.reader then
		silly._wake(s.reader, "active closed")
	end
	return nc.close(fd)
end

return M
