-- WebSocket echo load for bench/websocket/run.sh: `conns` connections, each
-- sending a `size`-byte binary message and waiting for its echo, for
-- `seconds`; prints messages a second and the round trip's p50 and p99.
local silly = require "silly"
local env = require "silly.env"
local time = require "silly.time"
local websocket = require "silly.net.websocket"
local waitgroup = require "silly.sync.waitgroup"

local url = env.get("url") or "ws://127.0.0.1:8091"
local conns = tonumber(env.get("conns") or "50")
local size = tonumber(env.get("size") or "64")
local secs = tonumber(env.get("seconds") or "5")

silly.fork(function()
	local msg = string.rep("m", size)
	local lat = {}
	local stop = time.monotonic_us() + secs * 1000000
	local wg = waitgroup.new()
	local done = 0
	for _ = 1, conns do
		wg:fork(function()
			local sock = assert(websocket.connect(url))
			while time.monotonic_us() < stop do
				local t0 = time.monotonic_us()
				sock:write(msg)
				local d = sock:read()
				if not d then
					break
				end
				lat[#lat + 1] = time.monotonic_us() - t0
				done = done + 1
			end
			sock:close()
		end)
	end
	wg:wait()
	table.sort(lat)
	print(string.format("msgs_s=%.0f p50_us=%d p99_us=%d", done / secs, lat[#lat // 2] or 0, lat[#lat * 99 // 100] or 0))
	silly.exit(0)
end)
