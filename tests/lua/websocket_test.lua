-- silly.net.websocket against Python's websockets (client and server, plain
-- and TLS), then the protocol's refusals: unmasked client frames, a
-- non-WebSocket request, a message over the limit, bad arguments.
local time = require "silly.time"
local tcp = require "silly.net.tcp"
local websocket = require "silly.net.websocket"
local T = require "testaux"

local tmp = os.getenv("TEST_TMPDIR") or "/tmp"
local certs = tmp .. "/ws_certs"
T.ok(os.execute(T.dir .. "/../tls/make_certs.sh " .. certs), "certificates made")
local PY = "/usr/bin/python3 " .. T.dir .. "/ws_peer.py"

local sh = T.shell()

local function start_peer(args)
	return T.start_peer(PY .. " " .. args)
end

-- Our server: echoes messages, answers pings, returns a close's code.
local closes = {}
local function echo(s)
	while true do
		local data, typ, code = s:read()
		if not data then
			closes[#closes + 1] = typ
			return
		end
		if typ == "ping" then
			s:write(data, "pong")
		elseif typ == "close" then
			closes[#closes + 1] = code or "no code"
			s:close(code)
			return
		elseif typ ~= "pong" then
			s:write(data, typ)
		end
	end
end

local function lines(out)
	local t = {}
	for k, v in out:gmatch("(%S+) ([^\n]*)") do
		t[k] = v
	end
	return t
end

T.run(function()
	local server = assert(websocket.listen {addr = "127.0.0.1:0", handler = echo})
	local port = tcp.sockname(server.fd):match(":(%d+)$")

	-- Python's client against our server.
	local out = sh(PY .. " client ws://127.0.0.1:" .. port)
	local r = lines(out)
	T.eq(r.text, "hello from python", "python client: text echoed: " .. out)
	T.eq(r.binary, "0001ff", "python client: binary echoed")
	T.eq(r.fragmented, "fragmented message", "python client: a fragmented message reassembled")
	T.eq(r.big, "True", "python client: 16 MiB echoed")
	T.eq(r.pong, "ok", "python client: its ping reached our script, which answered")
	T.eq(r.closed, "4000", "python client: our close carried its code back")
	T.eq(closes[#closes], 4000, "our server read the close code")

	-- Our client against Python's server.
	local pport = start_peer("server")
	local s = assert(websocket.connect("ws://127.0.0.1:" .. pport))
	T.ok(s:write("hi", "text"), "write text")
	T.deepeq({s:read()}, {"hi", "text"}, "text back")
	local blob = string.rep("\0\1\2\255", 4 * 1024 * 1024) -- 16 MiB
	T.ok(s:write(blob), "write 16 MiB (in fragments)")
	local back, typ = s:read()
	T.eq(typ, "binary", "16 MiB back, binary")
	T.ok(back == blob, "16 MiB back intact")
	s:write("ping-me", "text")
	local d, t = s:read()
	T.eq(t, "ping", "python's ping reaches the script")
	T.eq(d, "py-ping", "with its payload")
	s:write(d, "pong")
	T.deepeq({s:read()}, {"got pong", "text"}, "python saw our pong")
	T.eq(s:write(string.rep("x", 126), "ping"), false, "a control frame over 125 bytes is refused")
	s:close()
	T.eq(select(2, s:read()), "socket closed", "read after close")

	-- TLS both ways.
	local tls_server = assert(websocket.listen {addr = "127.0.0.1:0", handler = echo, tls = true,
		certs = {{cert = io.open(certs .. "/server.pem"):read("a"), key = io.open(certs .. "/server.key"):read("a")}}})
	local tport = tcp.sockname(tls_server.fd):match(":(%d+)$")
	out = sh(string.format("%s client wss://localhost:%s %s/ca.pem", PY, tport, certs))
	T.eq(lines(out).text, "hello from python", "python client over wss: " .. out)
	local sport = start_peer("server " .. certs .. "/server.pem " .. certs .. "/server.key")
	s = assert(websocket.connect("wss://localhost:" .. sport, nil, {tls = {ca = certs .. "/ca.pem"}}))
	s:write("secure", "text")
	T.deepeq({s:read()}, {"secure", "text"}, "our client over wss")
	s:close()
	local none, why = websocket.connect("wss://localhost:" .. sport)
	T.eq(none, nil, "a certificate the system does not trust is refused")
	T.ok(why:find("certificate verify failed", 1, true), "the reason: " .. tostring(why))
	tls_server:close()

	-- Refusals.
	local fd = assert(tcp.connect("127.0.0.1:" .. port))
	tcp.write(fd, "GET / HTTP/1.1\r\nhost: x\r\n\r\n")
	T.ok(tcp.readline(fd):find("400"), "a plain HTTP request to a WebSocket server: 400")
	tcp.close(fd)
	fd = assert(tcp.connect("127.0.0.1:" .. port))
	tcp.write(fd, "GET / HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\n" ..
		"sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	local head = {}
	repeat
		local l = tcp.readline(fd)
		head[#head + 1] = l
	until l == "\r\n" or not l
	head = table.concat(head)
	T.ok(head:find("101 Switching Protocols", 1, true), "handshake: 101")
	T.ok(head:find("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", 1, true), "RFC 6455's sample accept key")
	local before = #closes
	tcp.write(fd, string.char(0x81, 0x02) .. "hi") -- unmasked, from a client
	local frame = tcp.read(fd, 4)
	T.eq(frame, string.char(0x88, 0x02, 0x03, 0xea), "answered with close 1002")
	for _ = 1, 500 do
		if #closes > before then
			break
		end
		time.sleep(10)
	end
	T.eq(closes[#closes], "websocket: an unmasked frame from the client", "the server's read says why")
	tcp.close(fd)

	local small = assert(websocket.listen {addr = "127.0.0.1:0", handler = echo, max_message = 1000})
	local c2 = assert(websocket.connect("ws://" .. tcp.sockname(small.fd)))
	c2:write(string.rep("a", 2000))
	local _, ctyp, code = c2:read()
	T.eq(ctyp, "close", "a message over max_message is refused with a close")
	T.eq(code, 1009, "code 1009 (message too big)")
	c2:close()
	small:close()

	T.raises(function() websocket.connect(42) end, "websocket.connect: url must be a string", "a bad url")
	T.raises(function() websocket.listen {addr = "127.0.0.1:0"} end, "websocket.listen: a table with a handler",
		"no handler")
	s = assert(websocket.connect("ws://127.0.0.1:" .. port))
	T.raises(function() s:write("x", "bogus") end, "websocket write: type must be", "a bad type")
	s:close()
	server:close()
end)
