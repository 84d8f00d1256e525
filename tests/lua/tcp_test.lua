-- silly.net.tcp over real loopback sockets.
local silly = require "silly"
local time = require "silly.time"
local tcp = require "silly.net.tcp"
local waitgroup = require "silly.sync.waitgroup"
local T = require "testaux"

local function listen_any(fn)
	local lid = T.ok(tcp.listen("127.0.0.1:0", fn))
	return lid, tcp.sockname(lid)
end

T.run(function()
	-- Echo with partial reads: the server reads 3 bytes at a time.
	local _, addr = listen_any(function(fd)
		while true do
			local d = tcp.read(fd, 3)
			if not d then
				break
			end
			tcp.write(fd, d)
		end
		tcp.close(fd)
	end)
	local fd = T.ok(tcp.connect(addr))
	tcp.write(fd, "abcdefghi")
	T.eq(tcp.read(fd, 4), "abcd", "first partial read")
	T.eq(tcp.read(fd, 5), "efghi", "rest of the echo")
	T.eq(tcp.read(fd, 0), "", "read of 0 bytes")
	-- A table of strings is one write.
	T.ok(tcp.write(fd, {"x", "y", "z"}))
	T.eq(tcp.read(fd, 3), "xyz")
	tcp.close(fd)
	T.eq(tcp.isalive(fd), nil, "closed locally")
	local ok, err = tcp.close(fd)
	T.eq(ok, false, "second close")
	T.eq(err, "socket closed")

	-- readline with the default and a multi-byte delimiter, across writes.
	local _, laddr = listen_any(function(c)
		tcp.write(c, "line one\nline")
		time.sleep(5)
		tcp.write(c, " two\r\nrest")
		time.sleep(5)
		tcp.close(c)
	end)
	local lfd = T.ok(tcp.connect(laddr))
	T.eq(tcp.readline(lfd), "line one\n")
	T.eq(tcp.readline(lfd, "\r\n"), "line two\r\n")
	local d, rerr = tcp.readline(lfd)
	T.eq(d, nil, "no newline before the peer closed")
	T.eq(rerr, "end of file")
	T.eq(tcp.readall(lfd), "rest", "partial data stays for readall")
	T.eq(tcp.isalive(lfd), false, "peer closed")
	tcp.close(lfd)

	-- Many connections at once, each with its own echo conversation.
	local _, eaddr = listen_any(function(c)
		while true do
			local l = tcp.readline(c)
			if not l then
				break
			end
			tcp.write(c, l)
		end
		tcp.close(c)
	end)
	local wg = waitgroup.new()
	local good = 0
	for i = 1, 200 do
		wg:fork(function()
			local c = assert(tcp.connect(eaddr))
			for j = 1, 5 do
				local msg = string.format("conn %d msg %d\n", i, j)
				tcp.write(c, msg)
				assert(tcp.readline(c) == msg)
			end
			tcp.close(c)
			good = good + 1
		end)
	end
	wg:wait()
	T.eq(good, 200, "all connections echoed")

	-- A local close wakes a blocked reader with "active closed".
	local _, qaddr = listen_any(function(c)
		time.sleep(1000)
		tcp.close(c)
	end)
	local qfd = T.ok(tcp.connect(qaddr))
	silly.fork(function()
		time.sleep(10)
		tcp.close(qfd)
	end)
	local r, qerr = tcp.read(qfd, 10)
	T.eq(r, nil)
	T.eq(qerr, "active closed")

	-- Writing to a peer that hung up fails; it never kills the process
	-- (SIGPIPE is ignored).
	local _, haddr = listen_any(function(c) tcp.close(c) end)
	local hfd = T.ok(tcp.connect(haddr))
	time.sleep(20)
	local werr
	for _ = 1, 200 do
		local wrote, e = tcp.write(hfd, string.rep("p", 65536))
		if not wrote then
			werr = e
			break
		end
		time.sleep(1)
	end
	T.ok(werr, "writes to a closed peer eventually fail")
	tcp.close(hfd)

	-- Connection refused, bad addresses, bad arguments.
	local dead = T.ok(tcp.listen("127.0.0.1:0", function() end))
	local dead_addr = tcp.sockname(dead)
	tcp.close(dead)
	local nfd, cerr = tcp.connect(dead_addr)
	T.eq(nfd, nil)
	T.eq(cerr, "Connection refused")
	local _, aerr = tcp.connect("localhost:80")
	T.eq(aerr, "invalid address:localhost:80", "names are not resolved by tcp")
	T.raises(function() tcp.listen("127.0.0.1", function() end) end, "tcp.listen: address needs a port")
	T.raises(function() tcp.read(1, "x") end, "tcp.read")
	T.raises(function() tcp.write(1, 42) end, "tcp.write")
	local lid2, lerr = tcp.listen(addr, function() end)
	T.eq(lid2, nil, "port in use")
	T.eq(lerr, "Address already in use")

	-- A handler that raises: its error is logged and its connection (and
	-- only its) closed; the listener serves the next one.
	local _, raddr = listen_any(function(c)
		local line = tcp.readline(c)
		if line == "boom\n" then
			error("handler raised")
		end
		tcp.write(c, "ok " .. line)
	end)
	local victim = T.ok(tcp.connect(raddr))
	local other = T.ok(tcp.connect(raddr))
	tcp.write(victim, "boom\n")
	local gone, gerr = tcp.read(victim, 1)
	T.eq(gone, nil, "the raising handler's connection is closed")
	T.eq(gerr, "end of file")
	tcp.write(other, "fine\n")
	T.eq(tcp.readline(other), "ok fine\n", "another connection of the listener is untouched")
	local again = T.ok(tcp.connect(raddr))
	tcp.write(again, "next\n")
	T.eq(tcp.readline(again), "ok next\n", "the listener serves on")
	tcp.close(victim)
	tcp.close(other)
	tcp.close(again)

	-- IPv6 loopback.
	local v6 = tcp.listen("[::1]:0", function(c)
		tcp.write(c, "six\n")
		tcp.close(c)
	end)
	if v6 then
		local c6 = T.ok(tcp.connect(tcp.sockname(v6)))
		T.eq(tcp.readline(c6), "six\n")
		tcp.close(c6)
	end

	-- Blocking calls outside a task name the function.
	local live = T.ok(tcp.connect(eaddr))
	local co = coroutine.wrap(function()
		return pcall(tcp.read, live, 1)
	end)
	local _, perr = co()
	T.ok(tostring(perr):find("tcp.read: must be called inside a task", 1, true), "not in a task")
	tcp.close(live)
end)
