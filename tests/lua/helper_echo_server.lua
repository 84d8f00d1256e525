-- Helper process: a line echo server on a port of the kernel's choosing;
-- prints "ready <addr>" once it listens.
local tcp = require "silly.net.tcp"
local lfd = assert(tcp.listen("127.0.0.1:0", function(fd)
	while true do
		local line = tcp.readline(fd)
		if not line then
			break
		end
		tcp.write(fd, line)
	end
	tcp.close(fd)
end, 512))
print("ready " .. tcp.sockname(lfd))
