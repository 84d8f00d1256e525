-- For console_test: a console on every interface without a secret (the
-- warning is what is checked; nothing connects), then exit.
local silly = require "silly"
local console = require "silly.console"
local tcp = require "silly.net.tcp"

local fd = assert(console {addr = "0.0.0.0:0"})
tcp.close(fd)
silly.exit(0)
