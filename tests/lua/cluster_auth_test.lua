-- silly.net.cluster with a secret, with TLS, and with both, between this
-- process and helper nodes: who gets in, who does not, and what each side
-- is told. Certificates are made by the real openssl tool at test time.
local time = require "silly.time"
local tcp = require "silly.net.tcp"
local cluster = require "silly.net.cluster"
local T = require "testaux"

local certs = os.getenv("TEST_TMPDIR") .. "/cluster_auth_certs"
T.ok(os.execute(T.dir .. "/../tls/make_certs.sh " .. certs), "certificates made")

local function client(extra)
	return cluster.new(T.merge({
		timeout = 10000,
		marshal = function(_, cmd, body)
			return cmd == "count" and 2 or 1, tostring(body)
		end,
		unmarshal = T.string_unmarshal,
		call = function(body)
			return "back:" .. body
		end,
		close = function() end,
	}, extra))
end

-- How many calls the helper at addr served, asked over a link that gets in.
local function served(addr, extra)
	local c = client(extra)
	local fd = T.ok(c.connect(addr), "a link that gets in")
	local n = T.ok(c.call(fd, "count", ""), "count answered")
	c.close(fd)
	return tonumber(n)
end

T.run(function()
	-- A secret: the right one gets in, calls go both ways.
	local addr = T.start("helper_secure_node.lua", "--secret=swordfish")
	local good = client({secret = "swordfish"})
	local fd = T.ok(good.connect(addr))
	T.eq(good.call(fd, 1, "ping"), "ping", "a call with the right secret")

	-- In one process, the listening side calls back over the accepted link.
	local accepted
	local server = client({secret = "swordfish", accept = function(afd) accepted = afd end})
	local lfd = T.ok(server.listen("127.0.0.1:0"))
	local cfd = T.ok(good.connect(tcp.sockname(lfd)))
	T.eq(good.call(cfd, 1, "up"), "back:up", "connector calls listener")
	T.ok(accepted, "accept ran once through")
	T.eq(server.call(accepted, 1, "down"), "back:down", "listener calls connector")

	-- Wrong, missing, or on the base wire: refused, no handler runs.
	local fd2, err = client({secret = "trout"}).connect(addr)
	T.eq(fd2, nil)
	T.eq(err, "authentication failed", "a wrong secret")
	fd2, err = client({heartbeat = 1000}).connect(addr)
	T.eq(fd2, nil)
	T.eq(err, "authentication failed", "no secret, with a hello")
	local base = client()
	local bfd = base.connect(addr) -- the base wire says no hello: it connects
	local r, cerr = base.call(bfd, 1, "sneak")
	T.eq(r, nil, "a base-wire call gets nothing")
	T.eq(cerr, "closed", "its link was closed")
	T.eq(served(addr, {secret = "swordfish"}), 1, "only the right secret's call ran")

	-- A peer that connects and says nothing is closed at the handshake
	-- timeout; one that sends a megabyte of garbage at once. The good
	-- link keeps working meanwhile.
	local quick = T.start("helper_secure_node.lua", "--secret=swordfish --handshake=300")
	local silent = T.ok(tcp.connect(quick))
	local junk = T.ok(tcp.connect(quick))
	tcp.write(junk, string.rep("\x7f", 1 << 20))
	local start = time.monotonic()
	T.eq(tcp.read(junk, 1), nil, "garbage: closed")
	T.eq(tcp.read(silent, 1), nil, "silence: closed")
	T.le(time.monotonic() - start, 10000, "within the handshake timeout, not never")
	T.eq(good.call(fd, 1, "still"), "still", "the good link never noticed")

	-- TLS between two processes: server certificate checked against the CA
	-- and the name.
	local tls_addr = T.start("helper_secure_node.lua", "--certs=" .. certs)
	local tlsc = client({tls = {ca = certs .. "/ca.pem", servername = "localhost"}})
	local tfd = T.ok(tlsc.connect(tls_addr))
	T.eq(tlsc.call(tfd, 1, "over tls"), "over tls", "a call over TLS")
	local big = string.rep("x", 60000)
	T.eq(tlsc.call(tfd, 1, big), big, "a large payload over TLS")
	fd2, err = client({tls = {ca = certs .. "/other_ca.pem", servername = "localhost"}}).connect(tls_addr)
	T.eq(fd2, nil)
	T.ok(err:find("certificate verify failed", 1, true), "another CA: " .. tostring(err))
	fd2, err = client({tls = {ca = certs .. "/ca.pem", servername = "battle.example"}}).connect(tls_addr)
	T.eq(fd2, nil)
	T.ok(err and err:find("hostname mismatch", 1, true), "a wrong name: " .. tostring(err))
	-- A TLS client on a plaintext port, and a plaintext client with a hello
	-- on a TLS port.
	fd2, err = client({tls = {ca = certs .. "/ca.pem"}}).connect(addr)
	T.eq(fd2, nil)
	T.ok(err and err:find("TLS", 1, true), "TLS to a plaintext port: " .. tostring(err))
	print("a TLS client on a plaintext port is told:", err)
	fd2, err = client({heartbeat = 1000}).connect(tls_addr)
	T.eq(fd2, nil, "plaintext to a TLS port: " .. tostring(err))
	print("a plaintext client on a TLS port is told:", err)

	-- Mutual TLS: a client certificate from the CA gets in; none, or one
	-- from another CA, does not, and no handler runs for them.
	local mtls_addr = T.start("helper_secure_node.lua", "--certs=" .. certs .. " --mtls=1")
	local signed = {ca = certs .. "/ca.pem", servername = "localhost",
		cert = certs .. "/client.pem", key = certs .. "/client.key"}
	for _, who in ipairs({
		{ca = certs .. "/ca.pem", servername = "localhost"},
		{ca = certs .. "/ca.pem", servername = "localhost", cert = certs .. "/stranger.pem",
			key = certs .. "/stranger.key"},
	}) do
		local c = client({tls = who})
		local mfd = c.connect(mtls_addr) -- under TLS 1.3 the refusal may come after
		if mfd then
			T.eq(c.call(mfd, 1, "refused"), nil, "a refused client's call fails")
		end
	end
	T.eq(served(mtls_addr, {tls = signed}), 0, "no refused client's call ran")

	-- Both: a secret over TLS.
	local both = T.start("helper_secure_node.lua", "--certs=" .. certs .. " --secret=swordfish")
	local bc = client({secret = "swordfish", tls = {ca = certs .. "/ca.pem", servername = "localhost"}})
	local bothfd = T.ok(bc.connect(both))
	T.eq(bc.call(bothfd, 1, "both"), "both", "secret over TLS")
	fd2, err = client({secret = "trout", tls = {ca = certs .. "/ca.pem"}}).connect(both)
	T.eq(fd2, nil)
	T.eq(err, "authentication failed", "a wrong secret over TLS")

	-- Renewed certificates: reload_tls reads the files again for new links.
	local live = os.getenv("TEST_TMPDIR") .. "/live"
	os.execute(string.format("mkdir -p %s && cp %s/expired.pem %s/server.pem && cp %s/expired.key %s/server.key",
		live, certs, live, certs, live))
	local renewing = client({tls = {cert = live .. "/server.pem", key = live .. "/server.key"}})
	local raddr = tcp.sockname(T.ok(renewing.listen("127.0.0.1:0")))
	local checker = client({tls = {ca = certs .. "/ca.pem", servername = "localhost"}})
	fd2, err = checker.connect(raddr)
	T.eq(fd2, nil)
	T.ok(err and err:find("expired", 1, true), "the expired certificate first: " .. tostring(err))
	os.execute(string.format("cp %s/server.pem %s/server.key %s/", certs, certs, live))
	T.eq(renewing.reload_tls(), true, "reloaded")
	local rfd = T.ok(checker.connect(raddr), "the renewed one after reload_tls")
	T.eq(checker.call(rfd, 1, "renewed"), "back:renewed")

	-- Files that cannot be used raise at new, named.
	T.raises(function()
		client({tls = {cert = certs .. "/server.pem", key = certs .. "/missing.key"}})
	end, "missing.key", "a missing key file")
	T.raises(function()
		client({secret = ""})
	end, "conf.secret", "an empty secret")
end)
