-- silly.metrics: the registry and the text format, the /metrics endpoint
-- against good and bad clients, and the cluster's counters against the
-- calls this test makes.
local silly = require "silly"
local time = require "silly.time"
local tcp = require "silly.net.tcp"
local metrics = require "silly.metrics"
local cluster = require "silly.net.cluster"
local T = require "testaux"

-- The sample lines of an exposition, by their text before the value.
local function samples(text)
	local out = {}
	for line in text:gmatch("[^\n]+") do
		if line:sub(1, 1) ~= "#" then
			local key, value = line:match("^(.-) (%S+)$")
			out[key] = value
		end
	end
	return out
end

-- A whole HTTP exchange: what the server sent back before it closed.
local function http(addr, request)
	local fd = T.ok(tcp.connect(addr))
	tcp.write(fd, request)
	local parts = {}
	while true do
		local d = tcp.read(fd, 1)
		if not d then
			break
		end
		parts[#parts + 1] = d .. tcp.readall(fd)
	end
	tcp.close(fd)
	return table.concat(parts)
end

T.run(function()
	-- Registry and format.
	local c = metrics.counter("test_events_total", "Events, with \\ and\nnewline.", {"kind"})
	c:labels("a"):inc()
	c:labels("a"):add(2)
	c:labels('q"uo\\te\n'):inc()
	local g = metrics.gauge("test_level", "A level.")
	g:set(2.5)
	g:dec()
	local h = metrics.histogram("test_seconds", "Durations.", {"op"}, {0.1, 1, 10})
	local hop = h:labels("save")
	for _, v in ipairs({0.05, 0.1, 0.5, 5, 50}) do
		hop:observe(v)
	end
	local s = samples(metrics.text())
	T.eq(s['test_events_total{kind="a"}'], "3", "counter with labels")
	T.eq(s['test_events_total{kind="q\\"uo\\\\te\\n"}'], "1", "label value escaped")
	T.eq(s["test_level"], "1.5", "gauge")
	T.eq(s['test_seconds_bucket{op="save",le="0.1"}'], "2", "a bound is inclusive")
	T.eq(s['test_seconds_bucket{op="save",le="1"}'], "3", "buckets are cumulative")
	T.eq(s['test_seconds_bucket{op="save",le="10"}'], "4")
	T.eq(s['test_seconds_bucket{op="save",le="+Inf"}'], "5", "+Inf counts everything")
	T.eq(s['test_seconds_count{op="save"}'], "5", "count")
	T.eq(tonumber(s['test_seconds_sum{op="save"}']), 55.65, "sum")
	local text = metrics.text()
	T.ok(text:find("# HELP test_events_total Events, with \\\\ and\\nnewline.\n", 1, true), "help escaped")
	T.ok(text:find("# TYPE test_seconds histogram\n", 1, true), "type line")
	T.eq(metrics._num(1 / 0), "+Inf")
	T.eq(metrics._num(-1 / 0), "-Inf")
	T.eq(metrics._num(0 / 0), "NaN")
	T.eq(metrics._num(0.1), "0.1")
	T.eq(metrics._num(3.0), "3")
	-- Wrong use names the function.
	T.raises(function() metrics.counter("test_events_total", "again") end, "metrics.counter: 'test_events_total' is already")
	T.raises(function() metrics.gauge("9bad", "x") end, "metrics.gauge: a metric name")
	T.raises(function() metrics.histogram("test_h2", "x", {"le"}) end, "'le' is the histogram's own label")
	T.raises(function() metrics.histogram("test_h3", "x", nil, {1, 1}) end, "increasing")
	T.raises(function() c:labels("a", "b") end, "test_events_total:labels needs 1 values")
	T.raises(function() c:inc() end, "has labels")
	T.raises(function() c:labels("a"):add(-1) end, "counter:add needs a number >= 0")
	T.raises(function() metrics.serve(42) end, "metrics.serve: address string expected")

	-- A cluster whose calls the metrics count.
	local server = cluster.new {
		name = "game",
		marshal = T.string_marshal, unmarshal = T.string_unmarshal, close = function() end,
		call = function(body)
			if body == "fail" then
				error("handler says no")
			end
			if body == "slow" then
				time.sleep(300)
			end
			return body
		end,
	}
	local client = cluster.new {
		name = "lobby", timeout = 100,
		marshal = T.string_marshal, unmarshal = T.string_unmarshal, close = function() end, call = function() end,
	}
	local lfd = T.ok(server.listen("127.0.0.1:0"))
	local saddr = tcp.sockname(lfd)
	local mfd = T.ok(metrics.serve("127.0.0.1:0", {timeout = 300}))
	local maddr = tcp.sockname(mfd)
	local fd = T.ok(client.connect(saddr))
	for i = 1, 50 do
		T.eq(client.call(fd, 1, "c" .. i), "c" .. i)
	end
	T.eq(client.call(fd, 1, "fail"), nil)
	T.eq(client.call(fd, 1, "slow"), nil, "a call that times out")
	time.sleep(400) -- its late response arrives and is dropped

	-- The endpoint: good, wrong path, wrong method, HEAD, garbage.
	local ok = http(maddr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
	T.ok(ok:find("^HTTP/1.1 200 OK\r\n"), "200")
	T.ok(ok:find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n", 1, true), "the format's content type")
	local body = ok:match("\r\n\r\n(.*)$")
	T.eq(tonumber(ok:match("Content%-Length: (%d+)")), #body, "its length")
	s = samples(body)
	local peer = 'cluster="lobby",peer="' .. saddr .. '"'
	T.eq(s["silly_cluster_calls_total{" .. peer .. "}"], "52", "every call counted")
	T.eq(s["silly_cluster_call_failures_total{" .. peer .. ',reason="remote"}'], "1", "the remote failure")
	T.eq(s["silly_cluster_call_failures_total{" .. peer .. ',reason="timeout"}'], "1", "the timeout")
	T.eq(s["silly_cluster_call_seconds_count{" .. peer .. "}"], "51", "answered calls timed")
	T.eq(s["silly_cluster_late_responses_total{" .. peer .. "}"], "1", "the late response")
	T.eq(s["silly_cluster_calls_in_flight{" .. peer .. "}"], "0", "nothing in flight")
	T.eq(s['silly_cluster_requests_served_total{cluster="game",peer="127.0.0.1"}'], "52", "served, by peer host")
	T.eq(s['silly_cluster_handler_errors_total{cluster="game",peer="127.0.0.1"}'], "1", "the handler error")
	T.ok(tonumber(s["silly_cluster_sent_bytes_total{" .. peer .. "}"]) > 52 * 18, "bytes out")
	T.ok(tonumber(s["process_resident_memory_bytes"]) > 0, "process collector")
	T.ok(tonumber(s["process_open_fds"]) > 3, "open descriptors")
	T.ok(tonumber(s["silly_loop_iterations_total"]) > 0, "runtime collector")
	T.ok(tonumber(s['silly_sockets{kind="listening"}']) >= 2, "sockets by kind")
	T.ok(http(maddr, "GET /other HTTP/1.1\r\n\r\n"):find("^HTTP/1.1 404 "), "404 for other paths")
	local post = http(maddr, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
	T.ok(post:find("^HTTP/1.1 405 ") and post:find("Allow: GET, HEAD", 1, true), "405 for other methods")
	local head = http(maddr, "HEAD /metrics HTTP/1.0\r\n\r\n")
	T.ok(head:find("^HTTP/1.1 200 ") and head:match("\r\n\r\n(.*)$") == "", "HEAD: headers only")
	T.ok(http(maddr, "\1\2\3 garbage\r\n\r\n"):find("^HTTP/1.1 400 "), "400 for garbage")

	-- Label cardinality: past 64 peers an instance's series fold into
	-- peer="other".
	local fold = cluster.new {
		name = "fold", marshal = T.string_marshal, unmarshal = T.string_unmarshal,
		close = function() end, call = function() end,
	}
	for _ = 1, 70 do
		local many = T.ok(server.listen("127.0.0.1:0"))
		local mfd2 = T.ok(fold.connect(tcp.sockname(many)))
		T.eq(fold.call(mfd2, 1, "x"), "x")
	end
	local series, other = 0, nil
	for line in http(maddr, "GET /metrics HTTP/1.0\r\n\r\n"):gmatch("[^\n]+") do
		if line:find('^silly_cluster_calls_total{cluster="fold"') then
			series = series + 1
			other = line:match('peer="other"} (%d+)$') or other
		end
	end
	T.eq(series, 65, "64 peers and 'other'")
	T.eq(other, "6", "the calls to the peers past 64")

	-- Hostile clients while a cluster link keeps calling.
	local busy, calls_ok = true, 0
	silly.fork(function()
		while busy do
			if client.call(fd, 1, "k") == "k" then
				calls_ok = calls_ok + 1
			end
		end
	end)
	local sc = require "silly.c"
	collectgarbage()
	local mem0 = sc.memused()
	-- A 1 MB header: 431 after 8 KiB, the rest never read.
	local big = T.ok(tcp.connect(maddr))
	tcp.write(big, "GET /metrics HTTP/1.1\r\nX: " .. string.rep("a", 1 << 20))
	local reply = tcp.read(big, 12)
	T.eq(reply, "HTTP/1.1 431", "a huge header is refused")
	tcp.close(big)
	-- Half a request, then silence: closed at the read timeout.
	local half = T.ok(tcp.connect(maddr))
	tcp.write(half, "GET /metr")
	local t0 = time.monotonic()
	T.eq(tcp.read(half, 1), nil, "a stalled request is closed")
	T.le(time.monotonic() - t0, 10000, "at the read timeout")
	tcp.close(half)
	-- 1000 connections opened and dropped, some mid-request, and scrapers
	-- that leave before reading the response.
	for i = 1, 1000 do
		local x = tcp.connect(maddr)
		if x then
			if i % 2 == 0 then
				tcp.write(x, "GET /metrics HTTP/1.1\r\n")
			elseif i % 3 == 0 then
				tcp.write(x, "GET /metrics HTTP/1.1\r\n\r\n")
			end
			tcp.close(x)
		end
	end
	time.sleep(500) -- past the read timeout of the half-sent ones
	T.ok(http(maddr, "GET /metrics HTTP/1.1\r\n\r\n"):find("^HTTP/1.1 200 "), "still serving")
	busy = false
	T.ok(calls_ok > 0, "the cluster link kept calling: " .. calls_ok)
	collectgarbage()
	local grew = sc.memused() - mem0
	print(string.format("memory after the hostile clients: %+d bytes; %d calls meanwhile", grew, calls_ok))
	T.le(grew, 1 << 20, "memory back where it was")
	T.eq(tcp.isalive(fd), true, "the cluster link is untouched")
end)
