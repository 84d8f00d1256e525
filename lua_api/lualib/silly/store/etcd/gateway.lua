-- silly.store.etcd.gateway: HTTP/1.1 exchanges with etcd's JSON gateway
-- over silly.net.tcp. One request at a time per connection; a connection
-- whose response was read to its end goes back to a small idle pool of its
-- endpoint. Every wait has a deadline.
local tcp = require "silly.net.tcp"
local net = require "silly.net"
local time = require "silly.time"
local response = require "silly.store.etcd.response"

local concat, format = table.concat, string.format

local M = {}

local IDLE_PER_ENDPOINT = 4

-- The request's bytes: a POST of a JSON body.
local function request_text(host, path, body)
	return format(
		"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		path, host, #body, body)
end

-- A connection to `endpoint` within ms: fd, or nil and why.
function M.connect(endpoint, ms)
	local target, err = net._resolve(endpoint)
	if not target then
		return nil, err
	end
	local fd, cerr = tcp.connect(target, nil, ms)
	if not fd then
		return nil, "connect: " .. cerr
	end
	return fd
end

-- An idle connection to endpoint from the pool, or nil.
function M.take_idle(pool, endpoint)
	local list = pool[endpoint]
	while list and #list > 0 do
		local fd = table.remove(list)
		if tcp.isalive(fd) and tcp.recvsize(fd) == 0 then
			return fd
		end
		tcp.close(fd) -- the server hung up while it was idle
	end
	return nil
end

function M.put_idle(pool, endpoint, fd)
	local list = pool[endpoint]
	if not list then
		list = {}
		pool[endpoint] = list
	end
	if #list < IDLE_PER_ENDPOINT then
		list[#list + 1] = fd
	else
		tcp.close(fd)
	end
end

function M.close_idle(pool)
	for ep, list in pairs(pool) do
		for _, fd in ipairs(list) do
			tcp.close(fd)
		end
		pool[ep] = nil
	end
end

-- Feeds what arrives on fd to the reader r until `until_fn(r)` holds or the
-- stream ends; true, or nil and why.
local function pump(fd, r, until_fn)
	while not until_fn(r) do
		local b, err = tcp.read(fd, 1)
		if not b then
			local ok, why = r:finish()
			if ok then
				return true
			end
			return nil, err == "end of file" and why or err
		end
		local rest = tcp.readall(fd)
		local ok, perr = r:feed(rest and rest ~= "" and b .. rest or b)
		if not ok then
			return nil, "bad response: " .. perr
		end
	end
	return true
end

local function is_done(r)
	return r:done()
end
local function has_head(r)
	return r.status ~= nil
end

-- Sends the request and reads into r until until_fn(r) holds, all within
-- ms (a timer closes the socket at the deadline, ending the read it
-- interrupts); true, or nil, why and whether the deadline passed.
local function send_and_read(fd, r, host, path, body, ms, until_fn)
	local fired = false
	local timer = time.after(ms, function()
		fired = true
		tcp.close(fd)
	end)
	local ok, err = tcp.write(fd, request_text(host, path, body))
	if ok then
		ok, err = pump(fd, r, until_fn)
	end
	if fired then
		return nil, "timeout after " .. ms .. " ms", true
	end
	time.cancel(timer)
	return ok, err
end

-- One request on fd, its whole body read within ms (at most `max` bytes).
-- status, body, reusable; or nil, why, and whether the server may not have
-- seen the request (a stale pooled connection).
function M.exchange(fd, host, path, body, ms, max)
	local parts, size = {}, 0
	local r = response.new(function(piece)
		size = size + #piece
		if size > max then
			return nil, "response over " .. max .. " bytes"
		end
		parts[#parts + 1] = piece
		return true
	end)
	local ok, err, timed_out = send_and_read(fd, r, host, path, body, ms, is_done)
	if not ok then
		return nil, err, not timed_out and r.state == "head" and r.buf == ""
	end
	local reusable = r:done() and r:extra() == "" and (r.headers.connection or ""):lower() ~= "close"
	return r.status, concat(parts), reusable
end

-- Starts a streaming request on fd: its status line and headers are read
-- within ms, then on_body gets the body as it arrives, from the caller's
-- task, until the stream ends (returns true) or fails (nil, why).
-- Returns status, a function that runs the rest of the stream; or nil, why.
function M.stream(fd, host, path, body, ms, on_body)
	local r = response.new(on_body)
	local ok, err = send_and_read(fd, r, host, path, body, ms, has_head)
	if not ok then
		return nil, err
	end
	return r.status, function()
		local pok, perr = pump(fd, r, is_done)
		if pok then
			return nil, "stream ended"
		end
		return nil, perr
	end
end

return M
