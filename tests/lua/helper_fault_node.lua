-- Helper process for the fault suite: a cluster node that
--   cmd 1: echoes
--   cmd 2: echoes after a random 0..4 ms
--   cmd 9: reports "sockets fds bytes" once what follows a wave of closes
--          (a full garbage collection among it) has run
-- Prints "ready <addr>" once listening on --port (0: any).
local silly = require "silly"
local time = require "silly.time"
local env = require "silly.env"
local tcp = require "silly.net.tcp"
local nc = require "silly.net.c"
local c = require "silly.c"
local cluster = require "silly.net.cluster"

-- Descriptors other than pipes: the pipe of this very popen may or may
-- not still be open in both ends when ls looks, so pipes are not counted
-- (the loop's own signal pipe never changes).
local function fd_count()
	local p = io.popen("ls -l /proc/" .. silly.pid .. "/fd | grep -vc 'pipe:'")
	local n = tonumber(p:read("l"))
	p:close()
	return n
end

local node = cluster.new {
	marshal = function(_, cmd, body) return cmd, body end,
	unmarshal = function(_, _, p, n) return silly.tostring(p, n) end,
	call = function(body, cmd)
		if cmd == 2 then
			time.sleep(math.random(0, 4))
		elseif cmd == 9 then
			silly._after_wave() -- a settled point, whenever the tick came
			return string.format("%d %d %d", nc.count(), fd_count(), c.memused())
		elseif cmd == 10 then -- what each descriptor is, for a failure report
			local p = io.popen("ls -l /proc/" .. silly.pid .. "/fd")
			local list = p:read("a")
			p:close()
			return list
		end
		return body
	end,
	close = function() end,
}
local fd = assert(node.listen("127.0.0.1:" .. (env.get("port") or 0), 4096))
print("ready " .. tcp.sockname(fd))
