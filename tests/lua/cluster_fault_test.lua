-- Bad input on one link never hurts another: random bytes, a zero length,
-- a request shorter than its trailer, a truncated frame, and responses for
-- unknown sessions. And a peer that stops reading bounds our memory.
local silly = require "silly"
local time = require "silly.time"
local tcp = require "silly.net.tcp"
local cluster = require "silly.net.cluster"
local c = require "silly.c"
local T = require "testaux"

local function node(extra)
	local conf = {
		marshal = T.string_marshal,
		unmarshal = T.string_unmarshal,
		call = function(body) return body end,
		close = function() end,
	}
	return cluster.new(T.merge(conf, extra))
end

T.run(function()
	local closed = {}
	local server = node {close = function(fd, errno) closed[fd] = errno end}
	local lfd = server.listen("127.0.0.1:0")
	local addr = tcp.sockname(lfd)
	local good = node()
	local gfd = T.ok(good.connect(addr))

	-- Keeps a good link busy throughout.
	local flowing, stop = 0, false
	silly.fork(function()
		while not stop do
			assert(good.call(gfd, 1, "still fine") == "still fine")
			flowing = flowing + 1
		end
	end)

	local bad_inputs = {
		-- 256 KiB of noise: frames of random lengths, random kinds.
		random = (function()
			local t, x = {}, 12345
			for i = 1, 262144 do
				x = (x * 1103515245 + 12345) & 0x7fffffff
				t[i] = string.char(x >> 16 & 0xff)
			end
			return table.concat(t)
		end)(),
		zero_length = "\0\0",
		short_request = "\0\8" .. string.rep("\1", 8), -- 8 bytes, bit 31 clear
		truncated = "\0\100" .. "only a few bytes", -- then the peer hangs up
		unknown_response = string.pack(">I2", 8) .. "abcd" .. string.pack("<I4", 0x80000000 | 777777),
	}
	for name, bytes in pairs(bad_inputs) do
		local before = flowing
		local raw = T.ok(tcp.connect(addr))
		tcp.write(raw, bytes)
		if name == "random" then
			-- Closed as malformed or still waiting for a long frame: either
			-- way only this link is affected.
			time.sleep(50)
			tcp.close(raw)
		elseif name == "unknown_response" then
			-- Not malformed: dropped, and the link stays up.
			time.sleep(20)
			T.eq(tcp.isalive(raw), true, "unknown response leaves the link open")
			tcp.close(raw)
		elseif name == "truncated" then
			time.sleep(20)
			T.eq(tcp.isalive(raw), true, "a partial frame waits for the rest")
			tcp.close(raw)
		else
			local r, err = tcp.read(raw, 1)
			T.eq(r, nil, name .. ": the node closes the link")
			T.ok(err == "end of file" or err == "Connection reset by peer", name .. ": " .. tostring(err))
			tcp.close(raw)
		end
		time.sleep(10)
		T.ok(flowing > before, name .. ": the good link kept its calls flowing")
	end
	local protocol_errors = 0
	for _, errno in pairs(closed) do
		if errno == 71 then
			protocol_errors = protocol_errors + 1
		end
	end
	T.ge(protocol_errors, 2, "malformed links closed with EPROTO")

	-- A peer that sends a long batch of requests and hangs up at once: the
	-- node's writes fail part-way through the batch, which closes the link
	-- while its frames are being handled (a use-after-free under ASan once).
	local np = require "silly.netpacket"
	for _ = 1, 5 do
		local before = flowing
		local raw = T.ok(tcp.connect(addr))
		local frames = {}
		for i = 1, 96 do
			local _, p, n = np.request(1, 0, "batch " .. i)
			frames[i] = np.tostring(p, n)
		end
		tcp.write(raw, table.concat(frames))
		tcp.close(raw)
		time.sleep(20)
		T.ok(flowing > before, "the node survives a peer leaving mid-batch")
	end

	stop = true
	time.sleep(5)

	-- A peer that accepts and never reads: sends fail clearly once the
	-- socket's send queue is full, and memory stays bounded.
	local sink = tcp.listen("127.0.0.1:0", function() time.sleep(100000) end)
	local slow = node()
	local sfd = T.ok(slow.connect(tcp.sockname(sink)))
	local before_mem = c.memused()
	local chunk = string.rep("s", 65000)
	local sent, err = 0, nil
	for _ = 1, 5000 do
		local ok
		ok, err = slow.send(sfd, 1, chunk)
		if not ok then
			break
		end
		sent = sent + 1
	end
	T.eq(err, "send queue full", "the sender gets a clear error")
	local grew = c.memused() - before_mem
	print(string.format("slow peer: %d sends queued before the limit, memory grew %.1f MiB", sent,
		grew / 1048576))
	T.le(grew, 80 * 1048576, "memory bounded by the send-queue limit")
	local r2, err2 = slow.call(sfd, 1, chunk)
	T.eq(r2, nil)
	T.eq(err2, "send queue full", "calls fail clearly too")
	T.eq(cluster.stats().pending, 0, "the refused call left no session")
	slow.close(sfd)
end)
