-- silly.net.tls against the real OpenSSL tools: openssl s_client talks to
-- our echo server, our client talks to openssl s_server; then the refusals
-- (another CA, an expired certificate, a wrong name, mutual TLS without a
-- signed certificate), plaintext peers, a stalled handshake, and files
-- that cannot be used.
local time = require "silly.time"
local tcp = require "silly.net.tcp"
local tls = require "silly.net.tls"
local T = require "testaux"

local dir = os.getenv("TEST_TMPDIR") .. "/tls_lua_certs"
T.ok(os.execute(T.dir .. "/../tls/make_certs.sh " .. dir), "certificates made")
local function pem(name)
	return dir .. "/" .. name
end

local function slurp(path)
	local f = io.open(path)
	if not f then
		return ""
	end
	local s = f:read("a")
	f:close()
	return s
end

-- Runs a shell command in the background (the loop must go on meanwhile);
-- returns its pid.
local function background(cmd)
	local p = io.popen(cmd .. " & echo $!")
	local pid = tonumber(p:read("l"))
	p:close()
	return pid
end

-- Polls until f() is true, 10 s at most.
local function wait_for(f, what)
	for _ = 1, 1000 do
		if f() then
			return true
		end
		time.sleep(10)
	end
	T.fail("waited in vain for " .. what)
end

local function echo_server(opts)
	local handled = 0
	local fd = T.ok(tls.listen("127.0.0.1:0", function(cfd)
		handled = handled + 1
		while true do
			local line = tls.readline(cfd)
			if not line then
				break
			end
			tls.write(cfd, line)
		end
		tls.close(cfd)
	end, opts))
	return tls.sockname(fd), function()
		return handled
	end, fd
end

local client_opts = {ca = pem("ca.pem"), servername = "localhost"}

T.run(function()
	local server_opts = {cert = pem("server.pem"), key = pem("server.key")}
	local addr, handled = echo_server(server_opts)

	-- Our client, our server.
	local fd = T.ok(tls.connect(addr, client_opts))
	tls.write(fd, "hello\n")
	T.eq(tls.readline(fd), "hello\n", "echo over TLS")
	local big = string.rep("0123456789", 20000) .. "\n"
	tls.write(fd, big)
	T.eq(tls.read(fd, #big), big, "200 KB echoed intact")
	tls.close(fd)

	-- openssl s_client against our server, checking our certificate.
	local port = addr:match(":(%d+)$")
	local out = os.tmpname()
	local pid = background(string.format("(printf 'from s_client\\n'; sleep 20) | timeout 20 openssl s_client " ..
		"-connect 127.0.0.1:%s -CAfile %s -verify_return_error -verify_hostname localhost -quiet >%s 2>&1",
		port, pem("ca.pem"), out))
	wait_for(function()
		return slurp(out):find("from s_client", 1, true)
	end, "s_client's echo")
	os.execute("kill " .. pid .. " 2>/dev/null; pkill -f 'openssl s_client -connect 127.0.0.1:" .. port .. "'")
	os.remove(out)

	-- Our client against openssl s_server (its -www status page), plain
	-- and then requiring a client certificate.
	local function s_server(extra)
		local sport = T.port()
		local log = os.tmpname()
		local spid = background(string.format("timeout 60 openssl s_server -accept 127.0.0.1:%d -cert %s -key %s " ..
			"-www %s >%s 2>&1", sport, pem("server.pem"), pem("server.key"), extra, log))
		local saddr = "127.0.0.1:" .. sport
		wait_for(function()
			local probe = tcp.connect(saddr)
			if probe then
				tcp.close(probe)
				return true
			end
		end, "s_server to listen")
		return saddr, spid
	end
	local function get(saddr, opts)
		local c, err = tls.connect(saddr, opts)
		if not c then
			return nil, err
		end
		tls.write(c, "GET / HTTP/1.0\r\n\r\n")
		local status, rerr = tls.readline(c)
		tls.close(c)
		return status, rerr
	end
	local saddr, spid = s_server("")
	local status = get(saddr, client_opts)
	T.ok(status and status:find("200", 1, true), "s_server answered: " .. tostring(status))
	os.execute("kill " .. spid)
	saddr, spid = s_server("-Verify 1 -CAfile " .. pem("ca.pem"))
	local signed = {ca = pem("ca.pem"), servername = "localhost", cert = pem("client.pem"), key = pem("client.key")}
	status = get(saddr, signed)
	T.ok(status and status:find("200", 1, true), "mutual TLS accepted: " .. tostring(status))
	local none, why = get(saddr, client_opts)
	T.eq(none, nil, "mutual TLS without a certificate refused: " .. tostring(why))
	os.execute("kill " .. spid)

	-- Mutual TLS on our server: a client of the CA in, a stranger out.
	local maddr, mhandled = echo_server({cert = pem("server.pem"), key = pem("server.key"), ca = pem("ca.pem")})
	local m = T.ok(tls.connect(maddr, signed))
	tls.write(m, "mutual\n")
	T.eq(tls.readline(m), "mutual\n", "a signed client is served")
	tls.close(m)
	local stranger = {ca = pem("ca.pem"), servername = "localhost", cert = pem("stranger.pem"),
		key = pem("stranger.key")}
	local s = tls.connect(maddr, stranger) -- under TLS 1.3 the refusal arrives at the first read
	if s then
		T.eq(tls.readline(s), nil, "a stranger reads nothing")
	end
	T.eq(mhandled(), 1, "only the signed client reached the handler")

	-- Refusals the client sees, with their reasons.
	local eaddr = echo_server({cert = pem("expired.pem"), key = pem("expired.key")})
	local c, err = tls.connect(eaddr, client_opts)
	T.eq(c, nil)
	T.ok(err:find("certificate has expired", 1, true), "expired: " .. err)
	c, err = tls.connect(addr, {ca = pem("other_ca.pem"), servername = "localhost"})
	T.eq(c, nil)
	T.ok(err and err:find("certificate verify failed", 1, true), "another CA: " .. tostring(err))
	c, err = tls.connect(addr, {ca = pem("ca.pem"), servername = "login.example"})
	T.eq(c, nil)
	T.ok(err and err:find("hostname mismatch", 1, true), "a wrong name: " .. tostring(err))

	-- Plaintext peers, both ways.
	local before = handled()
	local plain = T.ok(tcp.connect(addr))
	tcp.write(plain, "hello\n")
	T.eq(tcp.readline(plain), nil, "a plaintext client is closed")
	tcp.close(plain)
	T.eq(handled(), before, "and never reaches the handler")
	local paddr = tcp.sockname(T.ok(tcp.listen("127.0.0.1:0", function(pfd)
		tcp.read(pfd, 1 << 20)
	end)))
	c, err = tls.connect(paddr, {ca = pem("ca.pem"), handshake = 300})
	T.eq(c, nil)
	T.ok(err:find("TLS", 1, true), "a TLS client on a plaintext port: " .. err)

	-- A peer that stalls in the handshake costs its socket until the timeout.
	local qaddr = echo_server({cert = pem("server.pem"), key = pem("server.key"), handshake = 300})
	local stalled = T.ok(tcp.connect(qaddr))
	local t0 = time.monotonic()
	T.eq(tcp.read(stalled, 1), nil, "a silent peer is closed")
	T.le(time.monotonic() - t0, 10000, "at the handshake timeout")

	-- 200 peers stalled inside their first record: each costs its socket and
	-- OpenSSL's bounded buffers (about 80 KiB), all given back at the timeout.
	local sc = require "silly.c"
	local base_mem = sc.memused()
	local partial = "\x16\x03\x01\x40\x00" .. string.rep("\1", 100) -- 16 KiB announced, 100 B sent
	local stuck = {}
	for i = 1, 200 do
		stuck[i] = T.ok(tcp.connect(qaddr))
		tcp.write(stuck[i], partial)
	end
	time.sleep(100)
	local held = sc.memused() - base_mem
	print(string.format("200 stalled handshakes hold %.1f KiB each", held / 200 / 1024))
	-- (OpenSSL's own: its SSL object, a record buffer and a handshake buffer)
	T.le(held, 200 * 128 * 1024, "at most 128 KiB each")
	for i = 1, 200 do
		T.eq(tcp.read(stuck[i], 1), nil, "closed at the timeout")
		tcp.close(stuck[i])
	end
	T.le(sc.memused() - base_mem, 1 << 20, "and their memory is back")

	-- Files that cannot be used, and wrong arguments, raise naming them.
	T.raises(function()
		tls.listen("127.0.0.1:0", function() end, {cert = pem("server.pem"), key = pem("nowhere.key")})
	end, "nowhere.key", "a missing key file")
	T.raises(function()
		tls.listen("127.0.0.1:0", function() end, {cert = pem("server.pem")})
	end, "cert and key", "a key is needed")
	T.raises(function()
		tls.connect(addr, {cafile = pem("ca.pem")})
	end, "unknown option 'cafile'", "a misspelt option")

	-- Reloading: a context's files are read again for new connections.
	os.execute(string.format("cp %s %s; cp %s %s", pem("expired.pem"), pem("live.pem"), pem("expired.key"),
		pem("live.key")))
	local ctx = tls.context({cert = pem("live.pem"), key = pem("live.key")}, "server")
	local raddr = echo_server(ctx)
	c = tls.connect(raddr, client_opts)
	T.eq(c, nil, "the expired certificate first")
	os.execute(string.format("cp %s %s; cp %s %s", pem("server.pem"), pem("live.pem"), pem("server.key"),
		pem("live.key")))
	T.ok(ctx:reload(), "reloaded")
	c = T.ok(tls.connect(raddr, client_opts), "the new one after reload")
	tls.write(c, "renewed\n")
	T.eq(tls.readline(c), "renewed\n")
end)
