-- silly.net.udp: datagram sockets; recvfrom suspends until one arrives.
local silly = require "silly"
local nc = require "silly.net.c"

local remove = table.remove
local suspending = silly._suspending
local co_yield = coroutine.yield
local co_running = coroutine.running

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
-- A task may wait here on each of thousands of sockets: few registers and
-- the yield made in this frame keep its stack at the 40 slots Lua starts
-- it with (see silly.net.tcp's read_with).
function M.recvfrom(fd)
	local s = socks[fd]
	if not s then
		return nil, "socket closed"
	end
	do
		local q = s.q
		if q then
			local item = remove(q, 1)
			if #q == 0 then
				s.q = nil -- an idle socket keeps no queue
			end
			return item[1], item[2] -- data, addr; or nil, err
		end
	end
	if s.reader then
		error("udp.recvfrom: another task is already reading this socket", 2)
	end
	s.reader = suspending(co_running(), "udp.recvfrom", "WAIT")
	local item = co_yield("WAIT")
	if not item or item == "active closed" then
		return nil, "active closed"
	end
	return item[1], item[2] -- data, addr; or nil, err
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
