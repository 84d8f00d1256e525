-- A peer that sends part of a frame and goes silent (slowloris) is closed
-- once conf.frame_timeout has passed, on the base wire too; links whose
-- frames keep finishing are never closed by it.
local silly = require "silly"
local time = require "silly.time"
local tcp = require "silly.net.tcp"
local cluster = require "silly.net.cluster"
local T = require "testaux"

local ETIMEDOUT = 110
-- The bound in the tests is ten times what is expected.
local TIMEOUT = 300

local function server(frame_timeout)
	local s = {closed = {}, count = 0, served = 0}
	s.inst = cluster.new {
		marshal = T.string_marshal,
		unmarshal = T.string_unmarshal,
		call = function(body)
			s.served = s.served + 1
			return body
		end,
		close = function(fd, errno)
			s.closed[fd] = errno
			s.count = s.count + 1
		end,
		frame_timeout = frame_timeout,
	}
	s.addr = tcp.sockname(T.ok(s.inst.listen("127.0.0.1:0", 2048)))
	return s
end

local function wait_until(fn, ms)
	local t0 = time.monotonic()
	while not fn() and time.monotonic() - t0 < ms do
		time.sleep(10)
	end
	return fn(), time.monotonic() - t0
end

-- A request frame of the base wire: length, payload, traceid, cmd, session.
local function request(payload, session)
	return string.pack(">I2", #payload + 16) .. payload .. string.pack("<I8I4I4", 0, 1, session)
end

T.run(function()
	T.raises(function() cluster.new {marshal = T.string_marshal, unmarshal = T.string_unmarshal,
		call = print, close = print, frame_timeout = -1} end, "conf.frame_timeout must be a non-negative integer")

	local s = server(TIMEOUT)
	-- Half a frame, then silence: closed with ETIMEDOUT.
	local fd = T.ok(tcp.connect(s.addr))
	T.ok(tcp.write(fd, request("hello", 1):sub(1, 10)))
	local t0 = time.monotonic()
	T.eq(tcp.read(fd, 1), nil, "the half frame's link is closed")
	local waited = time.monotonic() - t0
	print(string.format("half a frame: closed after %d ms (frame_timeout %d)", waited, TIMEOUT))
	T.ge(waited, TIMEOUT - 20, "not before its time")
	T.le(waited, TIMEOUT * 10, "and not long after")
	T.ok(wait_until(function() return s.count == 1 end, 3000))
	T.eq(select(2, next(s.closed)), ETIMEDOUT, "the close callback hears ETIMEDOUT")
	tcp.close(fd)

	-- A header that promises 65,535 bytes and nothing after it.
	fd = T.ok(tcp.connect(s.addr))
	T.ok(tcp.write(fd, "\xff\xff"))
	T.eq(tcp.read(fd, 1), nil, "a length alone is closed too")
	tcp.close(fd)

	-- A whole frame written a byte every 60 ms takes longer than the bound.
	fd = T.ok(tcp.connect(s.addr))
	local frame = request("trickled", 2)
	silly.fork(function()
		for i = 1, #frame do
			if not tcp.write(fd, frame:sub(i, i)) then
				return
			end
			time.sleep(60)
		end
	end)
	T.eq(tcp.read(fd, 1), nil, "a frame trickled slower than the bound is closed")
	T.eq(s.served, 0, "and never served")
	tcp.close(fd)

	-- A link whose frames keep finishing, each sent in two writes, stays.
	local client = cluster.new {marshal = T.string_marshal, unmarshal = T.string_unmarshal,
		call = function() end, close = function() end}
	local cfd = T.ok(client.connect(s.addr))
	local raw = T.ok(tcp.connect(s.addr))
	local t1 = time.monotonic()
	local n = 0
	while time.monotonic() - t1 < TIMEOUT * 4 do
		local f = request("steady", 100 + n)
		T.ok(tcp.write(raw, f:sub(1, 7)))
		time.sleep(TIMEOUT // 3)
		T.ok(tcp.write(raw, f:sub(8)))
		T.eq(client.call(cfd, 1, "ping"), "ping")
		n = n + 1
	end
	T.ok(tcp.read(raw, 4), "the raw link got its answers")
	T.ok(tcp.isalive(raw), "a link whose frames finish within the bound stays open")
	print(string.format("%d frames over %d ms, each finished within %d ms: the link stays", n,
		time.monotonic() - t1, TIMEOUT // 3))
	tcp.close(raw)
	client.close(cfd)

	-- frame_timeout = 0 turns it off.
	local off = server(0)
	fd = T.ok(tcp.connect(off.addr))
	T.ok(tcp.write(fd, request("hello", 1):sub(1, 10)))
	time.sleep(TIMEOUT * 3)
	T.ok(tcp.isalive(fd), "with frame_timeout = 0 a half frame is kept")
	T.eq(off.count, 0)
	tcp.close(fd)

	-- 1,000 half-frame connections at once: all closed within the bound.
	local many = server(TIMEOUT)
	local fds = {}
	for i = 1, 1000 do
		local f = T.ok(tcp.connect(many.addr))
		T.ok(tcp.write(f, request("x", i):sub(1, 3)))
		fds[i] = f
	end
	local all, took = wait_until(function() return many.count == 1000 end, TIMEOUT * 10 + 5000)
	print(string.format("1000 half-frame links: %d closed after %d ms", many.count, took))
	T.ok(all, "all 1,000 are closed")
	for _, f in ipairs(fds) do
		tcp.close(f)
	end
end)
