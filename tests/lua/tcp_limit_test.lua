-- tcp.limit with reads larger than the limit, reads that drain a paused
-- socket, and reads of a closed socket (scripts of the original framework
-- rely on all three).
local silly = require "silly"
local time = require "silly.time"
local tcp = require "silly.net.tcp"
local T = require "testaux"

-- A server that writes `chunks` with a pause between them.
local function writer(chunks)
	local lid = T.ok(tcp.listen("127.0.0.1:0", function(fd)
		for _, c in ipairs(chunks) do
			tcp.write(fd, c)
			time.sleep(100)
		end
		time.sleep(5000)
		tcp.close(fd)
	end))
	return lid, tcp.sockname(lid)
end

T.run(function()
	-- 1. A read of more than the limit gets its bytes (it used to hang).
	local lid, addr = writer({("a"):rep(1024), ("b"):rep(1024)})
	local fd = T.ok(tcp.connect(addr))
	tcp.limit(fd, 1024)
	time.sleep(50)
	local d = T.ok(tcp.read(fd, 2048), "a read past the limit")
	T.eq(#d, 2048)
	T.eq(d, ("a"):rep(1024) .. ("b"):rep(1024))
	tcp.close(fd)
	tcp.close(lid)

	-- ... and so does a line longer than the limit.
	lid, addr = writer({("x"):rep(700), ("y"):rep(700), "\nrest"})
	fd = T.ok(tcp.connect(addr))
	tcp.limit(fd, 512)
	local line = T.ok(tcp.readline(fd), "a line past the limit")
	T.eq(line, ("x"):rep(700) .. ("y"):rep(700) .. "\n")
	tcp.close(fd)
	tcp.close(lid)

	-- 2. A read that drains a paused socket lets reading go on.
	lid, addr = writer({("c"):rep(1024), ("d"):rep(1024)})
	fd = T.ok(tcp.connect(addr))
	tcp.limit(fd, 1024)
	time.sleep(300) -- both chunks sent; reading paused at the limit
	T.eq(tcp.recvsize(fd), 1024, "paused at the limit")
	T.eq(tcp.readall(fd), ("c"):rep(1024), "the first 1024 bytes, up to the limit")
	time.sleep(300)
	T.eq(tcp.readall(fd), ("d"):rep(1024), "the next 1024 came in after the drain")
	tcp.close(fd)
	tcp.close(lid)

	-- 3. readall of a closed or unknown socket says so, as read does.
	local r, err = tcp.readall(fd)
	T.eq(r, nil)
	T.eq(err, "socket closed")
	r, err = tcp.read(fd, 1)
	T.eq(err, "socket closed")
	r, err = tcp.readall(123456789)
	T.eq(r, nil)
	T.eq(err, "socket closed")
end)
