-- silly.net.dns against its own hosts file and a fake resolver on
-- 127.0.0.1: no query leaves the machine.
local silly = require "silly"
local time = require "silly.time"
local udp = require "silly.net.udp"
local dns = require "silly.net.dns"
local T = require "testaux"

local spack, sunpack = string.pack, string.unpack

-- A tiny authoritative server: answers from `zone`, NXDOMAIN otherwise.
local zone = {
	["svc.test"] = {{1, "\10\0\0\7"}},
	["six.test"] = {{28, "\32\1\13\184" .. string.rep("\0", 11) .. "\1"}},
	["alias.test"] = {{5, "\3svc\4test\0"}},
	["srv.test"] = {{33, spack(">I2I2I2", 1, 2, 8080) .. "\4node\4test\0"}},
}
local queries = 0

local function answer(fd, msg, addr)
	local id = sunpack(">I2", msg)
	local pos, labels = 13, {}
	while true do
		local len = msg:byte(pos)
		if len == 0 then
			break
		end
		labels[#labels + 1] = msg:sub(pos + 1, pos + len)
		pos = pos + 1 + len
	end
	local qtype = sunpack(">I2", msg, pos + 1)
	local question = msg:sub(13, pos + 4)
	local name = table.concat(labels, ".")
	queries = queries + 1
	if name == "silent.test" then
		return -- never answered: the client must time out
	end
	local recs = zone[name]
	local rcode = recs and 0 or 3
	local out = {}
	for _, r in ipairs(recs or {}) do
		if r[1] == qtype or r[1] == 5 then
			out[#out + 1] = "\192\12" .. spack(">I2I2I4s2", r[1], 1, 60, r[2])
		end
	end
	-- A CNAME's target record comes in the same reply, as resolvers do.
	if name == "alias.test" and qtype == 1 then
		out[#out + 1] = "\3svc\4test\0" .. spack(">I2I2I4s2", 1, 1, 60, "\10\0\0\7")
	end
	local head = spack(">I2I2I2I2I2I2", id, 0x8180 | rcode, 1, #out, 0, 0)
	udp.sendto(fd, head .. question .. table.concat(out), addr)
end

T.run(function()
	-- Hosts file first, case-insensitively.
	T.eq(dns.lookup("gamehost", dns.A), "10.9.8.7", "hosts file")
	T.eq(dns.lookup("GameHost.Local", dns.A), "10.9.8.7", "alias in hosts file")
	T.eq(dns.lookup("gamehost", dns.AAAA), "fd00::7")
	T.eq(dns.lookup("127.0.0.1", dns.A), "127.0.0.1", "an IP is returned as is")
	T.eq(dns.resolve("::1", dns.AAAA)[1], "::1")
	T.eq(dns.isname("a.b"), true)
	T.eq(dns.isname("1.2.3.4"), false)

	-- A nameserver in resolv.conf at 127.0.0.1:53 with nobody listening:
	-- the refusal comes back at once, no retries, no waiting.
	local t0 = time.monotonic()
	local ip, err = dns.lookup("nowhere.test", dns.A, 3000)
	T.eq(ip, nil)
	T.eq(err, "Connection refused")
	T.le(time.monotonic() - t0, 500, "refused resolver fails at once")

	-- The fake resolver.
	local fd = T.ok(udp.bind("127.0.0.1:0"))
	local nc = require "silly.net.c"
	local server_addr = nc.sockname(fd)
	silly.fork(function()
		while true do
			local msg, addr = udp.recvfrom(fd)
			if not msg then
				break
			end
			answer(fd, msg, addr)
		end
	end)
	dns.server(server_addr)
	T.eq(dns.lookup("svc.test", dns.A), "10.0.0.7")
	T.eq(dns.lookup("six.test", dns.AAAA), "2001:db8:00:00:00:00:00:01", "groups of two hex digits at least")
	T.eq(dns.lookup("alias.test", dns.A), "10.0.0.7", "CNAME followed")
	local srv = dns.lookup("srv.test", dns.SRV)
	T.eq(srv.port, 8080)
	T.eq(srv.target, "node.test")
	T.eq(srv.priority, 1)
	-- Cached: no second query.
	local before = queries
	T.eq(dns.lookup("svc.test", dns.A), "10.0.0.7")
	T.eq(queries, before, "answered from the cache")
	-- NXDOMAIN fails at once.
	t0 = time.monotonic()
	local nx, nerr = dns.lookup("missing.test", dns.A, 2000)
	T.eq(nx, nil)
	T.eq(nerr, "name not found")
	T.le(time.monotonic() - t0, 500)
	-- A resolver that never answers: nil, "timeout" within the timeout,
	-- retries included.
	t0 = time.monotonic()
	local s, serr = dns.lookup("silent.test", dns.A, 300)
	local took = time.monotonic() - t0
	T.eq(s, nil)
	T.eq(serr, "timeout")
	-- Retrying with the full timeout each time would take 8 x 300 ms.
	T.le(took, 2000, "within the timeout argument, retries included")
	T.ge(took, 250)
	T.eq(dns.resolve("svc.test", dns.A)[1], "10.0.0.7")
	T.raises(function() dns.lookup("x.test", 99) end, "dns.lookup: qtype")
	udp.close(fd)
end)
