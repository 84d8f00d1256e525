-- A real etcd server (Debian's etcd-server) for tests: one member on two
-- free loopback ports, its data in the test's temporary directory. It is
-- killed with the test's helpers; stop and start keep its data.
local time = require "silly.time"
local etcd = require "silly.store.etcd"
local T = require "testaux"

local E = {}
E.__index = E

local BIN = "/usr/bin/etcd"

local function exists(path)
	local f = io.open(path)
	if f then
		f:close()
	end
	return f ~= nil
end

function E.new(name)
	if not exists(BIN) then
		T.fail("etcd-server is not installed (scripts/install-deps.sh installs it)")
	end
	name = name or "etcd"
	local base = os.getenv("TEST_TMPDIR") or "/tmp"
	local dir = string.format("%s/%s-%d-%d", base, name, os.time(), math.random(1, 1 << 30))
	assert(os.execute("mkdir -p " .. dir))
	local client, peer = T.port(), T.port()
	local self = setmetatable({dir = dir, endpoint = "127.0.0.1:" .. client, peer_port = peer, pid = nil}, E)
	self:start()
	return self
end

-- Starts the server (again, with its data) and waits until it answers.
function E:start()
	local peer_url = "http://127.0.0.1:" .. self.peer_port
	local cmd = string.format(
		"%s --name n1 --data-dir %s/data --listen-client-urls http://%s --advertise-client-urls http://%s " ..
		"--listen-peer-urls %s --initial-advertise-peer-urls %s --initial-cluster n1=%s " ..
		"--logger zap --log-outputs stderr --log-level warn >>%s/etcd.log 2>&1 & echo $!",
		BIN, self.dir, self.endpoint, self.endpoint, peer_url, peer_url, peer_url, self.dir)
	local p = io.popen(cmd)
	self.pid = tonumber(p:read("l"))
	p:close()
	T.adopt(self.pid)
	local cli = etcd.new {endpoints = {self.endpoint}, timeout = 1000}
	for _ = 1, 600 do -- 60 s: it takes about one
		if cli:get("/") then
			cli:close()
			return
		end
		time.sleep(100)
	end
	T.fail("etcd did not start; its log: " .. self.dir .. "/etcd.log")
end

-- Kills the server (SIGKILL: etcd is built to survive it) and waits until
-- it is gone.
function E:stop()
	T.kill(self.pid, "KILL")
	self.pid = nil
end

return E
