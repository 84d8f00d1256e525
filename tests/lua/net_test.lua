-- silly.net: the low-level handler interface the cluster builds on.
local silly = require "silly"
local time = require "silly.time"
local net = require "silly.net"
local nc = require "silly.net.c"
local T = require "testaux"

T.run(function()
	local events = {}
	local server = {
		accept = function(fd, lid, peer)
			events[#events + 1] = "accept"
			T.ok(peer:find("^127%.0%.0%.1:%d+$"), "accept gets the peer address")
		end,
		data = function(fd, ptr, size)
			local s = silly.tostring(ptr, size)
			net.drop(ptr)
			events[#events + 1] = "data:" .. s
			net.tcpsend(fd, s:upper())
		end,
		close = function(fd, err)
			events[#events + 1] = "close:" .. err
			net.close(fd)
		end,
	}
	local lid = T.ok(net.tcplisten("127.0.0.1:0", server))
	local got = {}
	local client = {
		data = function(fd, ptr, size)
			got[#got + 1] = silly.tostring(ptr, size)
			net.drop(ptr)
		end,
		close = function() end,
	}
	local fd = T.ok(net.tcpconnect(nc.sockname(lid), client))
	T.ok(net.tcpsend(fd, "hello"))
	time.sleep(20)
	T.eq(table.concat(got), "HELLO")
	T.eq(net.sendsize(fd), 0)
	T.ok(net.close(fd))
	time.sleep(20)
	T.eq(events[1], "accept")
	T.eq(events[2], "data:hello")
	T.eq(events[3], "close:end of file", "close gets a reason string")
	T.eq(select(2, net.close(fd)), "socket closed")
	net.close(lid)
	T.raises(function() net.tcplisten("127.0.0.1:0", nil) end, "net.tcplisten: handler table expected")
end)
