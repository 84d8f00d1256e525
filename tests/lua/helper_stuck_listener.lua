-- Helper process: listens with the smallest backlog, then never returns to
-- the loop, so nothing is ever accepted.
local tcp = require "silly.net.tcp"
local env = require "silly.env"
tcp.listen("127.0.0.1:" .. env.get("port"), function() end, 1)
local t = os.time()
while os.time() - t < 30 do
end
