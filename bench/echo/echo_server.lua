-- Echo benchmark server: echoes 16-byte messages on every connection.
-- silly echo_server.lua --port=N
local tcp = require "silly.net.tcp"
local env = require "silly.env"

local read, write = tcp.read, tcp.write
assert(tcp.listen("127.0.0.1:" .. env.get("port"), function(fd)
	while true do
		local m = read(fd, 16)
		if not m then
			break
		end
		write(fd, m)
	end
	tcp.close(fd)
end, 1024))
