-- tcp.connect's timeout, against a child process whose listener never
-- accepts: once its backlog is full the kernel drops further handshakes.
local time = require "silly.time"
local tcp = require "silly.net.tcp"
local T = require "testaux"

T.run(function()
	local port = T.port()
	local pid = T.spawn("helper_stuck_listener.lua", "--port=" .. port)
	time.sleep(300)
	local timeouts, t0 = 0, time.monotonic()
	local held = {}
	for _ = 1, 8 do
		local fd, err = tcp.connect("127.0.0.1:" .. port, nil, 200)
		if fd then
			held[#held + 1] = fd
		elseif err == "connect timeout" then
			timeouts = timeouts + 1
			break
		else
			T.fail("unexpected connect error: " .. tostring(err))
		end
	end
	T.kill(pid, "KILL")
	T.eq(timeouts, 1, "a connect beyond the backlog timed out")
	T.le(time.monotonic() - t0, 3000, "the timeout bounded the wait")
end)
