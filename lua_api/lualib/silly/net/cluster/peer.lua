-- silly.net.cluster.peer: what inst.peer("host:port") returns. A peer
-- connects on first use and reconnects after its link drops (backoff from
-- 100 ms doubling to 5 s, with jitter). A call made while a connect is
-- under way waits for it within the call's own timeout; once an attempt
-- has failed, calls fail at once with "unreachable: <reason>" until one
-- succeeds (fail fast: a peer known to be down costs its callers nothing).
local silly = require "silly"
local time = require "silly.time"
local logger = require "silly.logger"
local backoff = require "silly.backoff"

local M = {}


local mt = {
	__name = "cluster.peer",
	__tostring = function(p)
		return "cluster.peer(" .. p.addr .. ")"
	end,
}

-- connect(addr) makes the link (suspending) and returns fd or nil, err.
function M.new(addr, connect)
	return setmetatable({
		addr = addr,
		connect = connect,
		fd = nil,
		closed = false,
		running = false,
		waiters = {}, -- task -> timer id of its deadline
		backoff = backoff.MIN,
		up_once = false,
		down = false, -- its link dropped or its last connect failed
		unreachable = nil, -- why the last connect failed, until one succeeds
		extended = false, -- its links answer hellos (set by silly.net.cluster)
		reconnects = 0,
	}, mt)
end

function M.is(v)
	return getmetatable(v) == mt
end

-- Wakes every task in holder.waiters (task -> timer of its deadline) with
-- v; a service handle's waiters too.
local function wake_all(p, v)
	local ws = p.waiters
	p.waiters = {}
	for co, timer in pairs(ws) do
		time.cancel(timer)
		silly._wake(co, v)
	end
end

M.wake_all = wake_all

-- One task per peer while it is down: connect until up or closed.
local function reconnect(p)
	while not p.closed and not p.fd do
		local fd, err = p.connect(p.addr)
		if fd and p.closed then
			return fd -- closed meanwhile: the caller closes it
		elseif fd then
			p.fd = fd
			p.down = false
			p.unreachable = nil
			p.backoff = backoff.MIN
			if p.up_once then
				p.reconnects = p.reconnects + 1
				logger.info("[cluster] peer", p.addr, "reconnected")
			end
			p.up_once = true
			wake_all(p, fd)
		else
			p.last_error = err
			p.down = true
			p.unreachable = err
			wake_all(p, {"unreachable: " .. err})
			local ms = backoff.jitter(p.backoff)
			logger.warn("[cluster] peer", p.addr, "unreachable:", err, "- next try in", ms, "ms")
			p.backoff = backoff.next(p.backoff)
			time.sleep(ms)
		end
	end
end

-- `close_fd` closes a link that came up after the peer was closed.
local function start(p, close_fd)
	if p.running or p.closed then
		return
	end
	p.running = true
	silly.fork(function()
		local stray = reconnect(p)
		p.running = false
		if stray then
			close_fd(stray)
		end
	end)
end

-- Suspends the calling task (checked by the caller) in holder.waiters
-- until wake_all(holder, v) or ms pass (v is then `on_timeout`); returns v
-- and the ms left, at least 1. A service handle's calls wait here too.
function M.await(holder, ms, fname, on_timeout)
	local co = silly.running()
	local t0 = time.monotonic()
	holder.waiters[co] = time.after(ms, function()
		if holder.waiters[co] then
			holder.waiters[co] = nil
			silly._wake(co, on_timeout)
		end
	end)
	local v = silly._suspend(fname, "WAIT")
	local left = ms - (time.monotonic() - t0)
	return v, left > 0 and left or 1
end

-- The peer's fd, waiting up to `ms` for its link; returns fd, ms left, or
-- nil and "timeout", "closed" or "unreachable: <why the connect failed>".
function M.wait(p, ms, fname, close_fd)
	if p.closed then
		return nil, "closed"
	end
	if p.fd then
		return p.fd, ms
	end
	start(p, close_fd)
	if p.unreachable then
		return nil, "unreachable: " .. p.unreachable
	end
	silly._checkblock(fname)
	local v, left = M.await(p, ms, fname, "timeout")
	if type(v) == "table" then
		return nil, v[1]
	elseif type(v) ~= "number" then
		return nil, v
	end
	return v, left
end

-- The fd now, or nil (and a reconnect starts) while the peer is down.
function M.current(p, close_fd)
	if not p.fd then
		start(p, close_fd)
	end
	return p.fd
end

-- Its link closed: reconnect, unless the peer was closed.
function M.dropped(p, close_fd)
	p.fd = nil
	p.down = true
	p.unreachable = nil -- calls wait for the first reconnect
	if not p.closed then
		logger.warn("[cluster] peer", p.addr, "link lost, reconnecting")
		start(p, close_fd)
	end
end

-- Stops the peer for good; returns its fd if a link was up.
function M.close(p)
	p.closed = true
	wake_all(p, "closed")
	local fd = p.fd
	p.fd = nil
	return fd
end

return M
