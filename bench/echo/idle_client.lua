-- Memory benchmark client: opens --conns links to --port, uses each once,
-- prints "ready" and holds them idle until the file --release exists
-- (polled), then closes them all and prints "closed".
--   --kind=tcp (default): silly.net.tcp connections, one 16-byte echo each
--     (bench/echo/echo_server.lua, on any runtime with silly.net.tcp)
--   --kind=cluster: silly.net.cluster links, one call each
--     (bench/cluster/server.lua)
local silly = require "silly"
local time = require "silly.time"
local env = require "silly.env"

local conns = tonumber(env.get("conns") or 1000)
local addr = "127.0.0.1:" .. env.get("port")
local release = env.get("release")
local msg = "0123456789abcdef"

-- open() -> a link or nil; use(link) -> true when it answered; close(link)
local open, use, close
if env.get("kind") == "cluster" then
	local node = require("silly.net.cluster").new {
		timeout = 30000,
		marshal = function(_, cmd, body) return cmd, body end,
		unmarshal = function(_, _, p, n) return silly.tostring(p, n) end,
		call = function() end,
		close = function() end,
	}
	open = function() return node.connect(addr) end
	use = function(fd) return node.call(fd, 1, msg) == msg end
	close = node.close
else
	local tcp = require "silly.net.tcp"
	open = function() return tcp.connect(addr) end
	use = function(fd)
		tcp.write(fd, msg)
		return tcp.read(fd, 16) == msg
	end
	close = tcp.close
end

local fds, done, failed = {}, 0, 0
for i = 1, conns do
	local fd = open()
	if fd then
		fds[#fds + 1] = fd
		silly.fork(function()
			if use(fd) then
				done = done + 1
			else
				failed = failed + 1
			end
		end)
	else
		failed = failed + 1
	end
	if i % 500 == 0 then
		time.sleep(1) -- let the listener's backlog drain
	end
end
while done + failed < conns do
	time.sleep(10)
end
print(string.format("ready used=%d failed=%d", done, failed))
io.stdout:flush()
while true do
	local f = io.open(release)
	if f then
		f:close()
		break
	end
	time.sleep(50)
end
for _, fd in ipairs(fds) do
	close(fd)
end
print("closed")
io.stdout:flush()
silly.exit(0)
