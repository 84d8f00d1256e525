-- silly.metrics.collectors: the metrics a node exposes without being asked
-- (docs/metrics.md lists them): the process, jemalloc, the runtime, and
-- every silly.net.cluster instance per peer. enable() registers them once;
-- silly.metrics.serve calls it.
local silly = require "silly"
local metrics = require "silly.metrics"
local mc = require "silly.metrics.c"

local M = {enabled = false}

local gauge, counter = metrics.gauge, metrics.counter

local function process_collector()
	local cpu = counter("process_cpu_seconds_total", "User and system CPU time spent, in seconds.")
	local rss = gauge("process_resident_memory_bytes", "Resident memory size in bytes.")
	local vsz = gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.")
	local fds = gauge("process_open_fds", "Open file descriptors.")
	local maxfds = gauge("process_max_fds", "The limit of open file descriptors.")
	local start = gauge("process_start_time_seconds", "Start time of the process since the epoch, in seconds.")
	return function()
		local p = mc.process()
		cpu.value = p.cpu_seconds or 0
		rss.value = p.resident_bytes or 0
		vsz.value = p.virtual_bytes or 0
		fds.value = p.open_fds or 0
		maxfds.value = p.max_fds or 0
		start.value = p.start_time_seconds or 0
	end
end

local function jemalloc_collector()
	if not mc.jemalloc() then
		return nil -- a build without jemalloc (sanitizers)
	end
	local g = {
		allocated = gauge("silly_jemalloc_allocated_bytes", "Bytes allocated by the application (jemalloc)."),
		active = gauge("silly_jemalloc_active_bytes", "Bytes in active pages (jemalloc)."),
		resident = gauge("silly_jemalloc_resident_bytes", "Bytes in physically resident data pages (jemalloc)."),
	}
	return function()
		local j = mc.jemalloc()
		for k, fam in pairs(g) do
			fam.value = j[k] or 0
		end
	end
end

local function runtime_collector()
	local tasks = gauge("silly_tasks", "Lua tasks alive (running, ready or waiting).")
	local timers = gauge("silly_timers_pending", "Timers waiting to fire.")
	local iterations = counter("silly_loop_iterations_total", "Turns of the event loop.")
	local fired = counter("silly_loop_timers_fired_total", "Timers fired.")
	local lag_total = counter("silly_loop_timer_lag_seconds_total", "How late timers fired, summed, in seconds.")
	local lag_max = gauge("silly_loop_timer_lag_max_seconds",
		"The latest any timer fired since the previous scrape, in seconds.")
	local sockets = gauge("silly_sockets", "Open sockets by kind.", {"kind"})
	local kinds = {"listening", "connecting", "streams", "tls_streams", "udp"}
	local by_kind = {} -- luacheck: no unused (its children are written)
	for _, k in ipairs(kinds) do
		by_kind[k] = sockets:labels(k)
	end
	local budget = require "silly.budget.c"
	local stopped = counter("silly_task_budget_exceeded_total",
		"Tasks stopped for running past --sys.task.budget_ms without yielding.")
	local rbytes = counter("silly_socket_read_bytes_total", "Bytes read from sockets.")
	local wbytes = counter("silly_socket_written_bytes_total", "Bytes written to sockets.")
	return function()
		local r = mc.runtime()
		tasks.value = silly._taskcount()
		timers.value = r.timers
		iterations.value = r.iterations
		fired.value = r.timers_fired
		lag_total.value = r.lag_total_us / 1e6
		lag_max.value = r.lag_max_us / 1e6
		for _, k in ipairs(kinds) do
			by_kind[k].value = r[k]
		end
		stopped.value = budget.stats().exceeded
		rbytes.value = r.bytes_read
		wbytes.value = r.bytes_written
	end
end

-- The families silly.net.cluster updates (see its _observe).
function M.attach_cluster(cluster)
	if M.cluster_attached then
		return
	end
	M.cluster_attached = true
	local ip = {"cluster", "peer"}
	-- The links' own buckets (C++ keeps the histograms; 100 µs to 10 s).
	local bounds = cluster._latency_bounds()
	cluster._observe({
		calls = counter("silly_cluster_calls_total", "Calls sent (requests that expect a response).", ip),
		failures = counter("silly_cluster_call_failures_total",
			"Calls that got no response: timeout, closed (the link dropped while pending), remote (the " ..
			"peer's handler failed), refused (not sent: queue full, too large, marshal error).",
			{"cluster", "peer", "reason"}),
		call_seconds = metrics.histogram("silly_cluster_call_seconds",
			"Call latency seen by the caller, for calls answered.", ip, bounds),
		served = counter("silly_cluster_requests_served_total", "Requests (calls and sends) handled.", ip),
		handler_errors = counter("silly_cluster_handler_errors_total", "Requests whose handler raised.", ip),
		handler_seconds = metrics.histogram("silly_cluster_handler_seconds",
			"Time a request took on this node, from its arrival: unmarshal, handler, marshal.", ip, bounds),
		in_flight = gauge("silly_cluster_calls_in_flight", "Calls waiting for a response.", ip),
		links = gauge("silly_cluster_links", "Open links.", ip),
		bytes_in = counter("silly_cluster_received_bytes_total", "Frame bytes received.", ip),
		bytes_out = counter("silly_cluster_sent_bytes_total", "Frame bytes queued for sending.", ip),
		late = counter("silly_cluster_late_responses_total",
			"Responses dropped because their call had timed out (or was a send).", ip),
		expired = counter("silly_cluster_requests_expired_total",
			"Requests not started because their caller had given up (deadline passed, or its link gone).", ip),
	})
	metrics.collector(cluster._collect)
end

-- Registers the collectors, once.
function M.enable()
	if M.enabled then
		return
	end
	M.enabled = true
	for _, make in ipairs({process_collector, jemalloc_collector, runtime_collector}) do
		local fn = make()
		if fn then
			metrics.collector(fn)
		end
	end
	local cluster = package.loaded["silly.net.cluster"]
	if cluster then
		M.attach_cluster(cluster)
	end
end

return M
