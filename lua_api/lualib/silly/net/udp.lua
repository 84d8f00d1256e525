-- silly.net.udp: datagram sockets; recvfrom suspends until one arrives.
local silly = require "silly"
local nc = require "silly.net.c"

local M = {}

-- id -> {q = queue of {data, addr} (made when a datagram waits), reader
-- = task}. Rebuilt after a wave of closed sockets.
local socks = {}

silly._on_wave(function()
	socks = silly._compact(socks)
end)

nc.onevent(nc.DGRAM, function(ev, id, data, addr)
	local s = socks[id]
	if not s then
		return
	end
	local item
	if ev == nc.EV_DATA then
		item = {data, addr}
	elseif ev == nc.EV_CLOSE then
		-- An ICMP error for an earlier send (a refused or unreachable
		-- peer); only a waiting reader hears of it.
		if not s.reader then
			return
		end
		item = {nil, nc.strerror(data)}
	else
		return
	end
	if s.reader then
		local co = s.reader
		s.reader = nil
		silly._wake(co, item)
	else
		local q = s.q
		if not q then
			q = {}
			s.q = q
		end
		q[#q + 1] = item
	end
end)

local function track(id, err)
	if not id then
		return nil, err
	end
	socks[id] = {}
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
	local q = s.q
	local item = q and table.remove(q, 1)
	if q and #q == 0 then
		s.q = nil -- an idle socket keeps no queue
	end
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
	if s.reader then
		silly._wake(s.reader, "active closed")
	end
	return nc.close(fd)
end

return M
