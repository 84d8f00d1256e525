-- Callers that keep calling a node through a fault, for the fault tests:
-- each call has an id of its own, every reply must be that id (no
-- mismatched reply) and come once (no duplicate), and every call must
-- return (no lost reply). With the helper node of helper_ledger_node.lua,
-- ran_of() then says which failed calls ran on the node anyway.
local silly = require "silly"
local time = require "silly.time"
local T = require "testaux"

local M = {}

local function median(t)
	table.sort(t)
	return t[(#t + 1) // 2] or 0
end

-- run{client, target (fd or peer), callers, fault = fn, fault_ms, heal =
-- fn, recover_ms}: calls flow, fault() at 300 ms, heal() fault_ms later,
-- then until a call is answered again (recover_ms at most). Returns
-- {failed = ids, errors = kind -> count, answered, median_fail_ms,
-- median_ok_ms (answered during the fault), recovered, recover_ms}.
function M.run(o)
	local r = {failed = {}, errors = {}, answered = 0}
	local fail_ms, ok_ms = {}, {}
	local seen = {}
	local stop, faulty, first_failure = false, false, nil
	local seq, running = 0, 0
	for c = 1, o.callers or 20 do
		running = running + 1
		silly.fork(function()
			while not stop do
				seq = seq + 1
				local id = "c" .. c .. "-" .. seq
				local t0 = time.monotonic()
				local reply, err = o.client.call(o.target, 1, id)
				if reply then
					T.eq(reply, id, "no mismatched reply")
					T.eq(seen[id], nil, "no duplicated reply")
					seen[id] = true
					r.answered = r.answered + 1
					if faulty then
						ok_ms[#ok_ms + 1] = time.monotonic() - t0
					end
				else
					r.failed[#r.failed + 1] = id
					if faulty then
						first_failure = first_failure or time.monotonic()
						if t0 >= first_failure then
							fail_ms[#fail_ms + 1] = time.monotonic() - t0
						end
					end
					local kind = err:match("^[^:]*")
					r.errors[kind] = (r.errors[kind] or 0) + 1
					time.sleep(10)
				end
			end
			running = running - 1
		end)
	end
	time.sleep(300)
	o.fault() -- may take a while to set up: the fault counts from its end
	faulty = true
	time.sleep(o.fault_ms)
	o.heal()
	faulty = false
	local before = r.answered
	local t0 = time.monotonic()
	while r.answered == before and time.monotonic() - t0 < (o.recover_ms or 15000) do
		time.sleep(20)
	end
	r.recovered = r.answered > before
	r.recover_ms = time.monotonic() - t0
	stop = true
	local t1 = time.monotonic()
	while running > 0 and time.monotonic() - t1 < 10000 do
		time.sleep(10)
	end
	T.eq(running, 0, "every call returned: no lost reply")
	r.median_fail_ms = median(fail_ms)
	r.median_ok_ms = median(ok_ms) -- of the calls answered during the fault
	local kinds = {}
	for k, n in pairs(r.errors) do
		kinds[#kinds + 1] = k .. " " .. n
	end
	table.sort(kinds)
	r.error_text = table.concat(kinds, ", ")
	return r
end

-- How many of `ids` the helper node ran, and its count of requests not
-- started (cmd 2 of helper_ledger_node.lua).
function M.ran_of(client, fd, ids)
	local ran, expired = 0, 0
	for i = 1, math.max(#ids, 1), 1000 do
		local r = T.ok(client.call(fd, 2, table.concat(ids, " ", i, math.min(i + 999, #ids))))
		local list, n = r:match("^(.*)|(%d+)$")
		for _ in list:gmatch("%S+") do
			ran = ran + 1
		end
		expired = tonumber(n)
	end
	return ran, expired
end

return M
