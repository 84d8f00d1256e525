-- The echo server of bench/echo/echo_server.lua for runtimes whose
-- silly.net.tcp hands each accepted connection over as an object
-- (tcp.listen{addr = ..., accept = function(conn) ... end}), so that
-- bench/echo/versus.sh can run the same server on them.
-- silly echo_server_conn.lua --port=N
local tcp = require "silly.net.tcp"
local env = require "silly.env"

assert(tcp.listen {
	addr = "127.0.0.1:" .. env.get("port"),
	backlog = 1024,
	accept = function(conn)
		while true do
			local m = conn:read(16)
			if not m then
				break
			end
			conn:write(m)
		end
		conn:close()
	end,
})
