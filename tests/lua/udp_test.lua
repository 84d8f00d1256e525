-- silly.net.udp over real loopback sockets.
local silly = require "silly"
local time = require "silly.time"
local udp = require "silly.net.udp"
local T = require "testaux"

local function heap()
	collectgarbage("collect")
	collectgarbage("collect")
	return collectgarbage("count") * 1024
end

T.run(function()
	-- An echo socket: what comes in goes back to its sender.
	local server = T.ok(udp.bind("127.0.0.1:0"))
	local saddr = require("silly.net.c").sockname(server)
	silly.fork(function()
		while true do
			local d, from = udp.recvfrom(server)
			if not d then
				break
			end
			udp.sendto(server, d, from)
		end
	end)

	-- A connected socket: send and receive, with the sender's address.
	local c = T.ok(udp.connect(saddr))
	T.ok(udp.send(c, "hello"))
	local d, from = udp.recvfrom(c)
	T.eq(d, "hello", "echoed datagram")
	T.eq(from, saddr, "the echo comes from the server's address")

	-- Datagrams that arrive with no reader wait, in order, each whole.
	local b = T.ok(udp.bind("127.0.0.1:0"))
	local baddr = require("silly.net.c").sockname(b)
	for i = 1, 5 do
		T.ok(udp.sendto(c, "d" .. i, baddr) ~= false, "sendto " .. i)
	end
	time.sleep(50)
	for i = 1, 5 do
		T.eq((udp.recvfrom(b)), "d" .. i, "queued datagram " .. i)
	end

	-- A second reader on one socket is an error naming the function.
	local first_d, first_err
	silly.fork(function()
		first_d, first_err = udp.recvfrom(b)
	end)
	time.sleep(10)
	T.raises(function()
		udp.recvfrom(b)
	end, "udp.recvfrom: another task is already reading this socket")

	-- Closing wakes the waiting reader with "active closed".
	T.eq(udp.close(b), true, "close")
	time.sleep(10)
	T.eq(first_d, nil, "the reader woke up when its socket closed")
	T.eq(first_err, "active closed")
	local ok, err = udp.recvfrom(b)
	T.eq(ok, nil, "recvfrom on a closed socket")
	T.eq(err, "socket closed")
	T.eq(udp.close(b), false, "a second close")

	-- A peer with nothing listening: the ICMP error reaches the reader.
	local dead = T.ok(udp.bind("127.0.0.1:0"))
	local dead_addr = require("silly.net.c").sockname(dead)
	udp.close(dead)
	local r = T.ok(udp.connect(dead_addr))
	udp.send(r, "anyone?")
	ok, err = udp.recvfrom(r)
	T.eq(ok, nil, "refused datagram")
	T.ok(tostring(err):find("refused", 1, true), "the error says refused: " .. tostring(err))
	udp.close(r)

	-- Outside a task, a read that would wait raises.
	local idle = T.ok(udp.bind("127.0.0.1:0"))
	local co = coroutine.wrap(function()
		return pcall(udp.recvfrom, idle)
	end)
	local _, perr = co()
	T.ok(tostring(perr):find("udp.recvfrom: must be called inside a task", 1, true), "not in a task")

	-- A task waiting in recvfrom keeps the 40-slot stack its coroutine
	-- starts with (measured: 1,361 bytes of Lua heap a task, its closure
	-- included; a doubled stack adds 640).
	local N = 100
	local socks = {}
	for i = 1, N do
		socks[i] = T.ok(udp.bind("127.0.0.1:0"))
	end
	local before = heap()
	for i = 1, N do
		silly.fork(function()
			udp.recvfrom(socks[i])
		end)
	end
	time.sleep(10)
	local per = (heap() - before) / N
	print(string.format("Lua heap a task waiting in recvfrom: %.0f bytes", per))
	T.le(per, 1600, "a task waiting in recvfrom (bytes)")
	for i = 1, N do
		udp.close(socks[i])
	end
	udp.close(idle)
	udp.close(c)
	udp.close(server)
end)
