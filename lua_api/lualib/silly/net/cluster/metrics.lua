-- silly.net.cluster.metrics: the cluster's Prometheus series
-- (docs/metrics.md), kept apart from the call path. silly.net.cluster
-- holds the table attach() returns as its one hook while metrics are on,
-- and calls it where a call is refused, a request handled, or a link
-- closed; everything else (bytes, calls, timeouts, latencies) the C++
-- links count themselves and collect() reads before each scrape.
local cc = require "silly.cluster.c"

local M = {}

-- The families, by short name (silly.metrics.collectors makes them).
local fam
-- fd -> link record of silly.net.cluster (a getter: the module rebuilds
-- its table after a wave of closed sockets).
local records
local chandled = cc.handled
-- Peers beyond this many per instance share the peer label "other", so a
-- node that many hosts call keeps a bounded set of series.
local PEER_LABELS = 64

-- The metric children of one (instance, peer) pair.
local function children_of(inst, peer)
	local per = inst.__metrics
	local m = per[peer]
	if m then
		return m
	end
	if per.__count >= PEER_LABELS then
		peer = "other"
		m = per[peer]
		if m then
			return m
		end
	end
	per.__count = per.__count + 1
	local name = inst.__name
	m = {
		calls = fam.calls:labels(name, peer),
		timeout = fam.failures:labels(name, peer, "timeout"),
		closed = fam.failures:labels(name, peer, "closed"),
		remote = fam.failures:labels(name, peer, "remote"),
		refused = fam.failures:labels(name, peer, "refused"),
		call_seconds = fam.call_seconds:labels(name, peer),
		served = fam.served:labels(name, peer),
		handler_errors = fam.handler_errors:labels(name, peer),
		handler_seconds = fam.handler_seconds:labels(name, peer),
		in_flight = fam.in_flight:labels(name, peer),
		links = fam.links:labels(name, peer),
		bytes_in = fam.bytes_in:labels(name, peer),
		bytes_out = fam.bytes_out:labels(name, peer),
		late = fam.late:labels(name, peer),
		expired = fam.expired:labels(name, peer),
	}
	per[peer] = m
	return m
end

-- A link's children: its peer is the address it was connected to, or for
-- an accepted link the peer's host (ports of accepted links change with
-- every connection).
local function link_metrics(rec)
	local m = rec.m
	if not m then
		local peer = rec.addr
		if rec.accepted then
			peer = peer:match("^%[(.*)%]:%d+$") or peer:match("^(.*):%d+$") or peer
		end
		m = children_of(rec.inst, peer)
		rec.m = m
	end
	return m
end

-- What the links count themselves, so that a call costs Lua nothing.
local COUNTED_IN_CXX = {
	bytes_in = "bytes_in", bytes_out = "bytes_out", late = "late", calls = "calls",
	timeout = "timeouts", remote = "remote_errors", expired = "expired",
}

-- Adds the growth of a C++ histogram (cc.linktimes) to a metrics child.
local function merge(child, now, before)
	local counts = child.counts
	for i = 1, #counts do
		counts[i] = counts[i] + now[i] - (before and before[i] or 0)
	end
	child.count = child.count + now.count - (before and before.count or 0)
	child.sum = child.sum + (now.sum_us - (before and before.sum_us or 0)) / 1e6
end

-- Adds what the link's C++ counters and histograms gained since they were
-- last read.
local function account(fd, rec)
	local st = cc.linkstats(fd)
	if not st then
		return
	end
	local m = link_metrics(rec)
	local seen = rec.seen
	if not seen then
		seen = {}
		rec.seen = seen
	end
	-- metrics child <- C++ link counter
	for k, from in pairs(COUNTED_IN_CXX) do
		local child = m[k]
		child.value = child.value + st[from] - (seen[from] or 0)
		seen[from] = st[from]
	end
	local calls, handled = cc.linktimes(fd)
	if calls then
		local before = seen.handled_times
		merge(m.call_seconds, calls, seen.call_times)
		merge(m.handler_seconds, handled, before)
		m.served.value = m.served.value + handled.count - (before and before.count or 0)
		seen.call_times, seen.handled_times = calls, handled
	end
	return st
end

-- The hooks silly.net.cluster calls.
local hooks = {}

-- A call the link refused (send queue full, say) before it was sent.
function hooks.refused(rec)
	local m = link_metrics(rec)
	m.refused.value = m.refused.value + 1
end

-- A request that arrived at t0 (µs) was handled on link fd; ok: without
-- an error. rec: the link's record, nil if the link is gone meanwhile.
function hooks.handled(fd, t0, ok, rec)
	chandled(fd, t0) -- one C call: C++ times it and counts it
	if not ok and rec then
		local m = link_metrics(rec)
		m.handler_errors.value = m.handler_errors.value + 1
	end
end

-- The link is about to close: the last of its counters, while C++ still
-- has them.
hooks.account = account

-- The link of rec is gone with `failed` calls pending on it.
function hooks.dropped(fd, rec, failed)
	account(fd, rec)
	local m = rec.m
	if m then
		m.closed.value = m.closed.value + failed
	end
end

-- Before each scrape: byte and late counters, links and calls in flight.
function hooks.collect()
	local inflight, open = fam.in_flight.list, fam.links.list
	for i = 1, #inflight do
		inflight[i].value = 0
	end
	for i = 1, #open do
		open[i].value = 0
	end
	for fd, rec in pairs(records()) do
		if not rec.listener and not rec.waiter then
			local st = account(fd, rec)
			if st then
				local m = rec.m
				m.in_flight.value = m.in_flight.value + st.pending
				m.links.value = m.links.value + 1
			end
		end
	end
end

-- Turns the links' time histograms on and returns the hooks.
function M.attach(families, link_records)
	fam = families
	records = link_records
	cc.observe()
	return hooks
end

-- The bounds (seconds) of the call and handler histograms, as C++ keeps them.
function M.latency_bounds()
	local b = {}
	for i, us in ipairs(cc.LATENCY_BOUNDS_US) do
		b[i] = us / 1e6
	end
	return b
end

return M
