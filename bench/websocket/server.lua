-- A WebSocket echo server for bench/websocket/run.sh, on the API that
-- silly.net.websocket shares with the original framework: both runtimes
-- serve the same script.
local websocket = require "silly.net.websocket"
local env = require "silly.env"

assert(websocket.listen {
	addr = env.get("addr") or "127.0.0.1:8091",
	handler = function(sock)
		while true do
			local data, typ = sock:read()
			if not data or typ == "close" then
				break
			end
			sock:write(data, typ)
		end
		sock:close()
	end,
})
