-- silly.netpacket: frames built by request/response, sent in pieces over
-- silly.net, reassembled per fd by push/pop.
local silly = require "silly"
local time = require "silly.time"
local net = require "silly.net"
local nc = require "silly.net.c"
local np = require "silly.netpacket"
local T = require "testaux"

T.run(function()
	local ctx = np.create()
	local got = {}
	local lid = T.ok(net.tcplisten("127.0.0.1:0", {
		data = function(fd, ptr, size)
			np.push(ctx, fd, ptr, size)
			while true do
				local f = {np.pop(ctx)}
				if not f[1] then
					break
				end
				f.body = np.tostring(f[2], f[3])
				got[#got + 1] = f
			end
		end,
		close = function(fd) np.clear(ctx, fd) net.close(fd) end,
	}))
	local fd = T.ok(net.tcpconnect(nc.sockname(lid), {data = function(_, p) np.drop(p) end, close = function() end}))

	local s1, p1, n1 = np.request(7, 0x0102030405060708, "first")
	local s2, p2, n2 = np.request(8, 9, "second")
	T.eq(s2, s1 + 1, "one counter, counting up")
	T.eq(n1, 2 + 5 + 16)
	local p3, n3 = np.response(s1, "answer")
	T.eq(n3, 2 + 6 + 4)
	-- All three frames, cut into 3-byte pieces.
	local wire = np.tostring(p1, n1) .. np.tostring(p2, n2) .. np.tostring(p3, n3)
	for i = 1, #wire, 3 do
		net.tcpsend(fd, wire:sub(i, i + 2))
		time.sleep(1)
	end
	time.sleep(20)
	T.eq(#got, 3, "three frames reassembled")
	T.eq(got[1].body, "first")
	T.eq(got[1][4], s1, "session")
	T.eq(got[1][5], 7, "cmd")
	T.eq(got[1][6], 0x0102030405060708, "trace id")
	T.eq(got[2].body, "second")
	T.eq(got[3].body, "answer")
	T.eq(got[3][4], s1, "response session, bit 31 cleared")
	T.eq(got[3][5], nil, "responses have no cmd")
	T.eq(got[3][6], 0, "responses have trace id 0")

	-- A raw pointer payload is copied, not freed.
	local rp, rn = np.response(5, "xyz")
	local sp, fp, fn = np.request(1, 0, rp, rn)
	T.ok(sp)
	local inner = silly.tostring(rp, rn) -- copies, does not free
	T.eq(np.tostring(fp, fn):sub(3, 2 + rn), inner, "the frame's payload is the pointed-to bytes")
	np.drop(rp) -- still ours to free

	-- Limits and misuse.
	local none, err = np.request(1, 0, string.rep("x", 65520))
	T.eq(none, nil)
	T.eq(err, "payload too large: 65520 bytes (at most 65519)")
	T.eq(select(2, np.response(1, string.rep("x", 65532))) ~= nil, true)
	T.raises(function() np.drop("x") end, "netpacket.drop can only drop lightuserdata")

	-- A frame too short for its trailer is dropped with its stream; later
	-- frames on the link parse again.
	net.tcpsend(fd, "\0\8" .. string.rep("\1", 8))
	time.sleep(10)
	local before = #got
	local s4, p4, n4 = np.request(1, 0, "after")
	net.tcpsend(fd, p4, n4)
	time.sleep(10)
	T.eq(#got, before + 1)
	T.eq(got[#got].body, "after")
	T.eq(got[#got][4], s4)
	net.close(fd)
end)
