-- silly.net.http against real peers: curl and Python's sockets against our
-- server (plain and TLS), our client against Python's http.server (plain
-- and TLS); then pipelining, limits, timeouts and mistakes.
local time = require "silly.time"
local tcp = require "silly.net.tcp"
local http = require "silly.net.http"
local json = require "silly.encoding.json"
local T = require "testaux"

local tmp = os.getenv("TEST_TMPDIR") or "/tmp"
local certs = tmp .. "/http_certs"
T.ok(os.execute(T.dir .. "/../tls/make_certs.sh " .. certs), "certificates made")

-- External commands run on a hive thread, so that the loop serves them.
local sh = T.shell()

local function port_of(server)
	return tonumber(tcp.sockname(server.fd):match(":(%d+)$"))
end

local function start_peer(args)
	return T.start_peer(string.format("/usr/bin/python3 %s/http_peer.py %s", T.dir, args or ""))
end

local function handler(s)
	if s.path == "/hello" then
		local body = "hello " .. (s.query.name or "nobody")
		s:respond(200, {["content-type"] = "text/plain", ["content-length"] = #body})
		s:close(body)
	elseif s.path == "/echo" then
		local body = assert(s:readall())
		s:respond(200, {["content-length"] = #body, ["x-method"] = s.method,
			["x-chunked"] = tostring(s.header["transfer-encoding"] ~= nil)})
		s:close(body)
	elseif s.path == "/json" then
		local body = json.encode({path = s.path, agent = s.header["user-agent"], form = s.query.k})
		s:respond(200, {["content-type"] = "application/json", ["content-length"] = #body})
		s:close(body)
	elseif s.path == "/stream" then
		s:respond(200, {["transfer-encoding"] = "chunked"})
		for i = 1, 3 do
			s:writechunk("part" .. i .. ";")
		end
		s:close()
	elseif s.path == "/boom" then
		error("handler failure on purpose")
	elseif s.path == "/silent" then
		return
	else
		s:respond(404, {["content-length"] = 0})
		s:close()
	end
end

T.run(function()
	local server = assert(http.listen {addr = "127.0.0.1:0", handler = handler})
	local port = port_of(server)
	local base = "http://127.0.0.1:" .. port

	-- curl against our server.
	local out = sh(string.format("curl -s -i '%s/hello?name=curl'", base))
	T.ok(out:find("^HTTP/1.1 200 OK\r\n"), "curl: status line: " .. out)
	T.ok(out:find("\r\n\r\nhello curl$"), "curl: body")
	out = sh(string.format("curl -s -v '%s/hello' '%s/hello?name=again'", base, base))
	T.ok(out:find("Re%-using existing connection") or out:find("Reusing existing connection"),
		"curl reuses the connection (keep-alive): " .. out)
	T.ok(out:find("hello again", 1, true), "the second response on it")
	local big = tmp .. "/big.bin"
	local f = assert(io.open(big, "wb"))
	f:write(string.rep("0123456789abcdef", 2 * 65536)) -- 2 MiB: curl asks Expect: 100-continue
	f:close()
	out = sh(string.format("curl -s -v --data-binary @%s '%s/echo' | md5sum; md5sum < %s", big, base, big))
	local a, b = out:match("(%x+)%s+%-.-\n(%x+)%s+%-")
	T.ok(a and a == b, "curl's 2 MiB POST echoed intact: " .. out:sub(-200))
	out = sh(string.format("curl -s -v -H 'Transfer-Encoding: chunked' --data-binary 'chunked body' '%s/echo'", base))
	T.ok(out:find("x%-chunked: true") and out:find("chunked body$"), "a chunked request body: " .. out:sub(-300))
	out = sh(string.format("curl -s -I '%s/hello'", base))
	T.ok(out:find("content%-length: 12") and not out:find("hello nobody"), "HEAD: the head, no body: " .. out)
	out = sh(string.format("curl -s -d 'k=v%%20w' '%s/json'", base))
	T.eq(json.decode(out).form, "v w", "a form body joins the query, unescaped")
	out = sh(string.format("curl -s --raw '%s/stream'", base))
	T.eq(out, "6\r\npart1;\r\n6\r\npart2;\r\n6\r\npart3;\r\n0\r\n\r\n", "a chunked response, as sent")
	out = sh(string.format("curl -s -i '%s/boom'", base))
	T.ok(out:find("^HTTP/1.1 500"), "a handler error answers 500: " .. out)
	out = sh(string.format("curl -s -i '%s/silent'", base))
	T.ok(out:find("^HTTP/1.1 500"), "a handler that does not respond: 500")
	out = sh(string.format("curl -s -i -X BREW '%s/hello'", base))
	T.ok(out:find("^HTTP/1.1 405") and out:find("allow: GET"), "an unknown method: 405 with allow")

	-- Python's http.client: two requests on one kept-alive connection.
	out = sh(string.format([[/usr/bin/python3 -c '
import http.client
c = http.client.HTTPConnection("127.0.0.1", %d, timeout=30)
c.request("GET", "/hello?name=py")
r = c.getresponse()
print(r.status, r.read().decode())
c.request("POST", "/echo", body=b"x" * 5000, headers={"content-type": "application/octet-stream"})
r = c.getresponse()
print(r.status, len(r.read()), r.getheader("x-method"))
print("same socket", c.sock is not None)
']], port))
	T.ok(out:find("200 hello py", 1, true), "http.client: GET: " .. out)
	T.ok(out:find("200 5000 POST", 1, true), "http.client: POST on the same connection")
	T.ok(out:find("same socket True", 1, true), "http.client kept the connection")

	-- Pipelining: two requests in one write, two responses in order.
	local fd = assert(tcp.connect("127.0.0.1:" .. port))
	tcp.write(fd, "GET /hello?name=one HTTP/1.1\r\nhost: x\r\n\r\nGET /hello?name=two HTTP/1.1\r\nhost: x\r\n\r\n")
	local got = {}
	while not table.concat(got):find("hello two", 1, true) do
		local d = tcp.readsome(fd)
		if not d then
			break
		end
		got[#got + 1] = d
	end
	got = table.concat(got)
	T.ok(got:find("hello one.*hello two"), "pipelined responses in order: " .. got)
	tcp.close(fd)

	-- Our client against our server.
	local r = assert(http.GET(base .. "/hello?name=silly"))
	T.eq(r.status, 200, "our client: status")
	T.eq(r.body, "hello silly", "our client: body")
	T.eq(r.header["content-type"], "text/plain", "our client: header")
	r = assert(http.POST(base .. "/echo", {["content-type"] = "text/plain"}, string.rep("x", 100000)))
	T.eq(#r.body, 100000, "our client: a 100 KB POST")
	r = assert(http.GET(base .. "/stream"))
	T.eq(r.body, "part1;part2;part3;", "our client reads a chunked body")
	T.raises(function() http.GET(base .. "/hello", {["x-evil"] = "a\r\nset-cookie: x"}) end, "holds a line break",
		"a header value with a line break is refused")

	-- The one-shot helpers keep connections alive in a pool.
	local peers = {}
	local counting = assert(http.listen {addr = "127.0.0.1:0", handler = function(st)
		peers[#peers + 1] = st.remoteaddr
		st:respond(200, {["content-length"] = 2})
		st:close("ok")
	end})
	local cbase = "http://127.0.0.1:" .. port_of(counting)
	for _ = 1, 3 do
		T.eq(assert(http.GET(cbase .. "/")).body, "ok", "pooled GET")
	end
	T.eq(#peers, 3, "three requests")
	T.ok(peers[1] == peers[2] and peers[2] == peers[3], "on one connection: " .. table.concat(peers, " "))
	counting:close()
	-- A pooled connection the server drops without answering: an idempotent
	-- request is sent again on a new one.
	local conns, requests = 0, 0
	local flaky = assert(tcp.listen("127.0.0.1:0", function(cfd)
		conns = conns + 1
		local n = 0
		while true do
			local line = tcp.readline(cfd)
			if not line then
				break
			end
			if line == "\r\n" then
				requests = requests + 1
				n = n + 1
				if n == 2 then -- the second request on a connection: dropped unanswered
					break
				end
				tcp.write(cfd, "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfresh")
			end
		end
		tcp.close(cfd)
	end))
	local fbase = "http://" .. tcp.sockname(flaky)
	T.eq(assert(http.GET(fbase .. "/a")).body, "fresh", "first GET")
	T.eq(assert(http.GET(fbase .. "/b")).body, "fresh", "second GET: retried on a new connection")
	T.eq(conns, 2, "two connections")
	T.eq(requests, 3, "three requests, one dropped")
	tcp.close(flaky)

	-- Our client against Python's http.server.
	local pport = start_peer()
	local pbase = "http://127.0.0.1:" .. pport
	r = assert(http.GET(pbase .. "/hello"))
	T.eq(r.body, "hello from python", "python: body")
	T.deepeq(r.header["x-multi"], {"a", "b"}, "python: a repeated field as a list")
	r = assert(http.POST(pbase .. "/echo", {["x-tag"] = "t1"}, "posted"))
	T.eq(r.status, 201, "python: POST status")
	T.eq(r.body, "posted", "python: POST body")
	T.eq(r.header["x-tag"], "t1", "python saw our header")
	r = assert(http.GET(pbase .. "/chunked"))
	T.eq(r.body, "first,second,third", "python: a chunked response")
	r = assert(http.GET(pbase .. "/close"))
	T.eq(r.body, "until the end", "python: a body to the end of the connection")
	local s = assert(http.request("GET", pbase .. "/hello", nil, true))
	T.eq(s:readheader(), 200, "a streamed request")
	local parts = {}
	repeat
		local d, e = s:read()
		parts[#parts + 1] = d
	until e == "EOF" or not d
	s:close()
	T.eq(table.concat(parts), "hello from python", "read() in pieces until EOF")
	local none, why = http.GET("http://127.0.0.1:1/")
	T.eq(none, nil, "nothing listens")
	T.ok(why, "a reason: " .. tostring(why))
	T.eq(select(2, http.GET("ftp://x/")), "unsupported url: ftp://x/", "an unsupported scheme")

	-- TLS: our server under curl, our client against Python's TLS server.
	local tls_server = assert(http.listen {
		addr = "127.0.0.1:0", handler = handler, tls = true,
		certs = {{cert = io.open(certs .. "/server.pem"):read("a"), key = io.open(certs .. "/server.key"):read("a")}},
	})
	local tport = port_of(tls_server)
	out = sh(string.format("curl -s --cacert %s/ca.pem 'https://localhost:%d/hello?name=tls'", certs, tport))
	T.eq(out, "hello tls", "curl over TLS with our CA")
	local sport = start_peer(certs .. "/server.pem " .. certs .. "/server.key")
	r = assert(http.GET(string.format("https://localhost:%d/hello", sport), nil, {tls = {ca = certs .. "/ca.pem"}}))
	T.eq(r.body, "hello from python", "our client over TLS, the server's certificate checked")
	r = assert(http.GET(string.format("https://localhost:%d/hello", sport), nil,
		{tls = {ca = certs .. "/ca.pem"}, timeout = 10000}))
	T.eq(r.status, 200, "over TLS with a connect timeout (the shared context and the option together)")
	none, why = http.GET(string.format("https://localhost:%d/hello", sport))
	T.eq(none, nil, "a certificate the system does not trust is refused")
	T.ok(why:find("certificate verify failed", 1, true), "the reason: " .. tostring(why))
	r = assert(http.GET(string.format("https://localhost:%d/hello", sport), nil, {tls = {verify = false}}))
	T.eq(r.status, 200, "verify = false, when asked")
	tls_server:close()

	-- Limits: a small server.
	local small = assert(http.listen {addr = "127.0.0.1:0", handler = handler, header_limit = 1024,
		body_limit = 1000, header_timeout = 300, keepalive_timeout = 300})
	local sbase = "http://127.0.0.1:" .. port_of(small)
	out = sh(string.format("curl -s -i -H 'x-big: %s' '%s/hello'", string.rep("y", 2000), sbase))
	T.ok(out:find("^HTTP/1.1 431"), "a header over the limit: 431: " .. out:sub(1, 80))
	out = sh(string.format("curl -s -i --data-binary @%s '%s/echo'", big, sbase))
	T.ok(out:find("HTTP/1.1 413") or out == "", "a body over the limit: 413 (or the connection cut): " .. out:sub(1, 80))
	r = assert(http.POST(sbase .. "/echo", nil, string.rep("z", 900)))
	T.eq(#r.body, 900, "within the limit")

	-- Slowloris: a head that never ends is cut at header_timeout.
	fd = assert(tcp.connect("127.0.0.1:" .. port_of(small)))
	tcp.write(fd, "GET / HTTP/1.1\r\nhost: x\r\n")
	local start = time.monotonic()
	local d, err = tcp.readsome(fd)
	T.eq(d, nil, "the slow client is cut")
	T.ok(err, "with a reason")
	T.le(time.monotonic() - start, 3000, "within ten times header_timeout")
	T.ge(time.monotonic() - start, 250, "not before header_timeout")
	tcp.close(fd)
	-- An idle kept-alive connection closes at keepalive_timeout.
	fd = assert(tcp.connect("127.0.0.1:" .. port_of(small)))
	tcp.write(fd, "GET /hello HTTP/1.1\r\nhost: x\r\n\r\n")
	T.ok(tcp.readline(fd):find("200"), "first request served")
	start = time.monotonic()
	repeat
		d = tcp.readsome(fd)
	until not d
	T.le(time.monotonic() - start, 3000, "idle connection closed within ten times keepalive_timeout")
	tcp.close(fd)
	small:close()

	-- Wrong arguments.
	T.raises(function() http.listen("127.0.0.1:0") end, "http.listen: a table", "not a table")
	T.raises(function() http.listen {addr = "127.0.0.1:0"} end, "handler must be a function", "no handler")
	T.raises(function() http.listen {addr = "127.0.0.1:0", handler = handler, body_limit = -1} end,
		"body_limit must be a positive integer", "a bad limit")
	server:close()
end)
