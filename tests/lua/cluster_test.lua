-- silly.net.cluster behaviour in one process: concurrency, ordering,
-- timeouts, calls in both directions, close in all its forms, limits,
-- errors, traces, and instances that must not be collected.
local silly = require "silly"
local time = require "silly.time"
local cluster = require "silly.net.cluster"
local waitgroup = require "silly.sync.waitgroup"
local tcp = require "silly.net.tcp"
local T = require "testaux"

-- A string codec: cmd numbers as given, names mapped by a table.
local names = {echo = 1, sleep = 2, fail = 3, big = 4, trace = 5, ask = 6}
local function marshal(_, cmd, body)
	return names[cmd] or cmd, body
end
local function unmarshal(_, _, ptr, size)
	return silly.tostring(ptr, size)
end

local function new_node(extra)
	local conf = {
		marshal = marshal,
		unmarshal = unmarshal,
		call = function(body, cmd, fd)
			if cmd == 1 then
				return body
			elseif cmd == 2 then
				time.sleep(tonumber(body))
				return body
			elseif cmd == 3 then
				error("handler failed on purpose")
			elseif cmd == 4 then
				return string.rep("r", tonumber(body))
			elseif cmd == 5 then
				return tostring(silly.trace())
			end
		end,
		close = function() end,
	}
	return cluster.new(T.merge(conf, extra))
end

T.run(function()
	local server_closes, accepted = {}, {}
	local server = new_node {
		accept = function(fd, addr) accepted[#accepted + 1] = {fd, addr} end,
		close = function(fd, errno) server_closes[#server_closes + 1] = {fd, errno} end,
		timeout = 300,
	}
	local lfd = T.ok(server.listen("127.0.0.1:0"))
	local addr = tcp.sockname(lfd)
	T.eq(server.__fdaddr[lfd], "127.0.0.1:0")

	local client_closes = {}
	local client = new_node {
		timeout = 300,
		close = function(fd, errno) client_closes[#client_closes + 1] = {fd, errno} end,
	}
	local fd = T.ok(client.connect(addr))
	T.eq(client.__fdaddr[fd], addr)
	time.sleep(5)
	T.eq(#accepted, 1, "accept callback")
	T.ok(accepted[1][2]:find("^127%.0%.0%.1:%d+$"), "accept gets the peer address, not the listen fd")

	-- Echo with 200 concurrent callers.
	local wg = waitgroup.new()
	local ok_count = 0
	for i = 1, 200 do
		wg:fork(function()
			local msg = "msg-" .. i
			local r, err = client.call(fd, "echo", msg)
			assert(r == msg, tostring(r) .. " " .. tostring(err))
			ok_count = ok_count + 1
		end)
	end
	wg:wait()
	T.eq(ok_count, 200)

	-- Handlers that sleep answer out of order; each caller gets its own.
	local order = {}
	for _, ms in ipairs({60, 10, 35}) do
		wg:fork(function()
			local r = client.call(fd, "sleep", tostring(ms))
			assert(r == tostring(ms))
			order[#order + 1] = ms
		end)
	end
	wg:wait()
	T.eq(table.concat(order, ","), "10,35,60", "responses in completion order")

	-- A handler slower than the caller's timeout: nil, "timeout", and the
	-- late response is dropped and counted.
	local before = cluster.stats().dropped
	local t0 = time.monotonic()
	local r, err = client.call(fd, "sleep", "400")
	T.eq(r, nil)
	T.eq(err, "timeout")
	T.ge(time.monotonic() - t0, 299)
	T.le(time.monotonic() - t0, 3000, "at the 300 ms timeout, not at some later event")
	time.sleep(150)
	T.eq(cluster.stats().dropped, before + 1, "late response dropped")

	-- A handler error reaches the caller; a handler returning nil sends nothing.
	r, err = client.call(fd, "fail", "x")
	T.eq(r, nil)
	T.ok(err:find("remote handler error: .*handler failed on purpose"), err)
	r, err = client.call(fd, 99, "no handler answers 99")
	T.eq(r, nil)
	T.eq(err, "timeout", "nil from a handler: no response")

	-- send: one-way, true; any response to it is dropped silently.
	T.eq(client.send(fd, "echo", "one way"), true)

	-- Payload limits: requests 65519, responses 65531.
	r, err = client.call(fd, "echo", string.rep("x", 65519))
	T.eq(err, nil)
	T.eq(#r, 65519, "largest request")
	r, err = client.call(fd, "echo", string.rep("x", 65520))
	T.eq(r, nil)
	T.eq(err, "payload too large: 65520 bytes (at most 65519)")
	T.eq(select(2, client.send(fd, "echo", string.rep("x", 70000))), "payload too large: 70000 bytes (at most 65519)")
	r = client.call(fd, "big", "65531")
	T.eq(#r, 65531, "largest response")
	r, err = client.call(fd, "big", "65532")
	T.eq(r, nil, "oversize response")
	T.ok(err:find("payload too large", 1, true), err)

	-- Trace ids travel with the call.
	silly.trace(0x1234567890)
	r = client.call(fd, "trace", "")
	T.eq(r, tostring(0x1234567890), "handler sees the caller's trace id")
	silly.trace(nil)

	-- Marshal errors: a string cmd is the caller's bug; a failing marshal
	-- is a returned error.
	local bad = cluster.new {
		marshal = function(_, cmd) if cmd == "boom" then error("cannot encode") end return "text", "x" end,
		unmarshal = unmarshal, call = function() end, close = function() end,
	}
	local bfd = T.ok(bad.connect(addr))
	T.raises(function() bad.call(bfd, "x", 1) end, "cluster.call: marshal must return an integer cmd first, got the string 'text'")
	local mr, merr = bad.call(bfd, "boom", 1)
	T.eq(mr, nil)
	T.ok(merr:find("marshal error: .*cannot encode"), merr)
	bad.close(bfd)

	-- Server-to-client call on the accepted fd.
	local back_client = new_node {
		call = function(body, cmd) if cmd == 6 then return "client answers " .. body end end,
	}
	local bcfd = T.ok(back_client.connect(addr))
	time.sleep(5)
	local sfd = accepted[#accepted][1]
	T.eq(server.call(sfd, "ask", "q"), "client answers q", "call from server to client")

	-- Close in all its forms.
	local ok, st = client.close(fd)
	T.eq(ok, true)
	T.eq(st, "connected")
	ok, st = client.close(fd)
	T.eq(ok, false)
	T.eq(st, "closed")
	T.eq(select(2, client.call(fd, "echo", "x")), "closed", "call on a closed fd")
	time.sleep(10)
	T.eq(#client_closes, 1, "own close fires the close callback")
	T.eq(client_closes[1][2], 0)
	T.ok(#server_closes >= 1, "peer sees the close")
	T.eq(server_closes[1][2], 0, "orderly end: errno 0")
	T.eq(math.type(server_closes[1][2]), "integer", "errno is a number")
	-- A pending call fails at once when its link is closed locally.
	local pending_err
	silly.fork(function() pending_err = select(2, back_client.call(bcfd, "sleep", "200")) end)
	time.sleep(5)
	back_client.close(bcfd)
	time.sleep(1)
	T.eq(pending_err, "closed", "local close fails pending calls")
	-- Listener by address string and by fd; accepted links closed by the server.
	T.eq(server.close("127.0.0.1:0"), true, "close a listener by its address")
	T.eq(select(2, server.close("127.0.0.1:0")), "closed")
	for sid in pairs(server.__fdaddr) do
		server.close(sid)
	end
	T.eq(next(server.__fdaddr), nil, "__fdaddr empty after everything closed")
	T.eq(next(client.__fdaddr), nil)
	T.eq(cluster.stats().pending, 0, "no session left")

	-- Argument checks name the function.
	T.raises(function() cluster.new {unmarshal = unmarshal, call = print, close = print} end,
		"cluster.new: conf.marshal must be a function")
	T.raises(function() cluster.new {marshal = marshal, unmarshal = unmarshal, call = print} end,
		"cluster.new: conf.close must be a function")
	T.raises(function() client.call("x", 1, 1) end, "cluster.call: fd (integer) expected")
	T.raises(function() client.listen(42) end, "cluster.listen: address string expected")
	local lf, lerr = client.listen("127.0.0.1:99999")
	T.eq(lf, nil)
	T.ok(lerr:find("invalid address", 1, true), lerr)
	local co = coroutine.wrap(function() return pcall(client.connect, addr) end)
	local _, cerr = co()
	T.ok(tostring(cerr):find("cluster.connect: must be called inside a task", 1, true), cerr)

	-- An instance held only by a local is not collected while it has
	-- sockets: its listener keeps serving.
	local port_addr
	do
		local lonely = new_node()
		local l2 = lonely.listen("127.0.0.1:0")
		port_addr = tcp.sockname(l2)
	end
	collectgarbage()
	collectgarbage()
	local c2 = new_node()
	local c2fd = T.ok(c2.connect(port_addr), "listener of a dropped local still accepts")
	T.eq(c2.call(c2fd, "echo", "alive"), "alive")
	c2.close(c2fd)
end)
