-- The original framework's forms of silly.net.tls: listen{addr, certs =
-- {{cert = <PEM text>, key = <PEM text>}}, ciphers, alpnprotos, disp},
-- connect(addr, bind, hostname, alpnprotos), reload(fd, conf) and
-- alpnproto(fd); OpenSSL's own s_client checks the ALPN choice.
local time = require "silly.time"
local tcp = require "silly.net.tcp"
local tls = require "silly.net.tls"
local T = require "testaux"

local dir = os.getenv("TEST_TMPDIR") .. "/tls_compat_certs"
T.ok(os.execute(T.dir .. "/../tls/make_certs.sh " .. dir), "certificates made")
local function slurp(name)
	local f = assert(io.open(dir .. "/" .. name))
	local s = f:read("a")
	f:close()
	return s
end

T.run(function()
	local seen = {}
	local lid = T.ok(tls.listen {
		addr = "127.0.0.1:0",
		certs = {{cert = slurp("server.pem"), key = slurp("server.key")}},
		alpnprotos = {"h2", "http/1.1"},
		disp = function(fd, addr)
			seen[#seen + 1] = {proto = tls.alpnproto(fd), addr = addr}
			local line = tls.readline(fd)
			tls.write(fd, "echo " .. tostring(line))
			tls.close(fd)
		end,
	})
	local addr = tcp.sockname(lid)

	-- The original's connect: no certificate check, hostname as SNI, ALPN.
	local fd = T.ok(tls.connect(addr, nil, "localhost", {"http/1.1"}))
	T.eq(tls.alpnproto(fd), "http/1.1", "the one protocol both sides have")
	tls.write(fd, "hi\n")
	T.eq(tls.read(fd, 8), "echo hi\n")
	tls.close(fd)
	T.eq(seen[1].proto, "http/1.1", "the listener sees the same choice")
	T.ok(seen[1].addr:find("^127%.0%.0%.1:%d+$"), "disp gets the peer's address")

	-- The server's preference wins; no common protocol: none at all.
	fd = T.ok(tls.connect(addr, nil, "localhost", {"http/1.1", "h2"}))
	T.eq(tls.alpnproto(fd), "h2")
	tls.close(fd)
	fd = T.ok(tls.connect(addr, nil, "localhost", {"spdy/3"}))
	T.eq(tls.alpnproto(fd), nil, "no protocol agreed")
	tls.close(fd)
	fd = T.ok(tls.connect(addr, nil, "localhost"))
	T.eq(tls.alpnproto(fd), nil, "none offered")
	tls.close(fd)
	-- An address alone is silly's own form, which checks the certificate
	-- (against the system's store here, which does not have the test CA).
	local nofd, verr = tls.connect(addr)
	T.eq(nofd, nil)
	T.ok(verr:find("certificate verify failed", 1, true), verr)

	-- An independent client: OpenSSL's s_client reports the choice.
	-- In the background: this process serves it meanwhile.
	local outfile = os.getenv("TEST_TMPDIR") .. "/s_client.out"
	os.execute("(echo | openssl s_client -connect " .. addr .. " -alpn http/1.1 > " .. outfile .. " 2>&1; echo DONE >> " ..
		outfile .. ") &")
	local out = ""
	for _ = 1, 600 do -- up to a minute
		local f = io.open(outfile)
		out = f and f:read("a") or ""
		if f then
			f:close()
		end
		if out:find("DONE", 1, true) then
			break
		end
		time.sleep(100)
	end
	T.ok(out:find("ALPN protocol: http/1.1", 1, true), "s_client agrees: " .. (out:match("ALPN[^\n]*") or out))

	-- reload: other protocols for the streams accepted from now on.
	T.eq(tls.reload(lid, {alpnprotos = {"http/1.1"}}), true)
	fd = T.ok(tls.connect(addr, nil, "localhost", {"h2", "http/1.1"}))
	T.eq(tls.alpnproto(fd), "http/1.1", "after reload h2 is gone")
	tls.close(fd)
	-- A broken certificate leaves the listener as it was.
	local ok, err = tls.reload(lid, {certs = {{cert = "not a certificate", key = slurp("server.key")}}})
	T.eq(ok, false)
	T.ok(err:find("certificate #1", 1, true), err)
	fd = T.ok(tls.connect(addr, nil, "localhost", {"http/1.1"}))
	T.eq(tls.alpnproto(fd), "http/1.1", "still serving with what it had")
	tls.close(fd)
	T.eq(select(2, tls.reload(12345)), "not a TLS listener")

	-- A cipher list OpenSSL does not know is refused, named.
	T.raises(function()
		tls.listen {addr = "127.0.0.1:0", certs = {{cert = slurp("server.pem"), key = slurp("server.key")}},
			ciphers = "NO-SUCH-CIPHER", disp = print}
	end, "bad cipher list 'NO-SUCH-CIPHER'")
	-- A key that is not the certificate's.
	T.raises(function()
		tls.listen {addr = "127.0.0.1:0", certs = {{cert = slurp("server.pem"), key = slurp("ca.key")}}, disp = print}
	end, "tls.listen: bad key of certificate #1: key values mismatch")
	T.raises(function() tls.listen {addr = "127.0.0.1:0", disp = print} end, "tls.listen: conf.certs expected")
	T.raises(function() tls.listen {addr = "127.0.0.1:0", certs = {{cert = 1}}, disp = print} end,
		"certs[1] must be {cert = <PEM text>, key = <PEM text>}")
	T.raises(function() tls.connect(addr, 5) end, "tls.connect: bind must be an address string")
	tls.close(lid)
end)
