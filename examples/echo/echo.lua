-- A TCP echo server and its clients in one process: the runtime's demo.
local silly = require "silly"
local time = require "silly.time"
local tcp = require "silly.net.tcp"
local waitgroup = require "silly.sync.waitgroup"

local listener = assert(tcp.listen("127.0.0.1:0", function(fd, peer)
	print("server: accepted", peer)
	while true do
		local line = tcp.readline(fd)
		if not line then
			break
		end
		tcp.write(fd, line)
	end
	tcp.close(fd)
end))
local addr = tcp.sockname(listener)
print("server: listening on", addr)

local wg = waitgroup.new()
for i = 1, 3 do
	wg:fork(function()
		local fd = assert(tcp.connect(addr))
		for j = 1, 2 do
			local msg = string.format("hello %d from client %d\n", j, i)
			local t0 = time.monotonic_us()
			tcp.write(fd, msg)
			local echo = tcp.readline(fd):gsub("\n$", "")
			io.write(string.format("client %d: echoed %q in %d us\n", i, echo, time.monotonic_us() - t0))
		end
		tcp.close(fd)
	end)
end
wg:wait()
print("demo: done")
silly.exit(0)
