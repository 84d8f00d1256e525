-- Memory benchmark client: opens --conns connections to --port, echoes one
-- 16-byte message on each, prints "ready" and holds them idle until a
-- line arrives on the file --release (polled), then closes them all and
-- prints "closed". Runs on any runtime with silly.net.tcp.
local silly = require "silly"
local time = require "silly.time"
local env = require "silly.env"
local tcp = require "silly.net.tcp"

local conns = tonumber(env.get("conns") or 1000)
local addr = "127.0.0.1:" .. env.get("port")
local release = env.get("release")
local fds = {}
local msg = "0123456789abcdef"
local done, failed = 0, 0
for i = 1, conns do
	local fd = tcp.connect(addr)
	if fd then
		fds[#fds + 1] = fd
		silly.fork(function()
			tcp.write(fd, msg)
			if tcp.read(fd, 16) == msg then
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
print(string.format("ready echoed=%d failed=%d", done, failed))
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
	tcp.close(fd)
end
print("closed")
io.stdout:flush()
silly.exit(0)
