-- A real etcd server (Debian's etcd-server) for tests, on free loopback
-- ports, its data in the test's temporary directory: E.new() is one
-- member, E.cluster(n) the members of one n-member cluster. Each is killed
-- with the test's helpers; stop and start keep its data.
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

local function members(n, name)
	if not exists(BIN) then
		T.fail("etcd-server is not installed (scripts/install-deps.sh installs it)")
	end
	local base = os.getenv("TEST_TMPDIR") or "/tmp"
	local dir = string.format("%s/%s-%d-%d", base, name or "etcd", os.time(), math.random(1, 1 << 30))
	local list, initial = {}, {}
	for i = 1, n do
		local m = setmetatable({
			name = "n" .. i,
			dir = dir .. "/n" .. i,
			endpoint = "127.0.0.1:" .. T.port(),
			peer_url = "http://127.0.0.1:" .. T.port(),
		}, E)
		assert(os.execute("mkdir -p " .. m.dir))
		list[i] = m
		initial[i] = m.name .. "=" .. m.peer_url
	end
	for _, m in ipairs(list) do
		m.initial = table.concat(initial, ",")
	end
	return list
end

local function launch(m)
	local cmd = string.format(
		"%s --name %s --data-dir %s/data --listen-client-urls http://%s --advertise-client-urls http://%s " ..
		"--listen-peer-urls %s --initial-advertise-peer-urls %s --initial-cluster %s " ..
		"--initial-cluster-token silly-test --logger zap --log-outputs stderr --log-level warn " ..
		">>%s/etcd.log 2>&1 & echo $!",
		BIN, m.name, m.dir, m.endpoint, m.endpoint, m.peer_url, m.peer_url, m.initial, m.dir)
	local p = io.popen(cmd)
	m.pid = tonumber(p:read("l"))
	p:close()
	T.adopt(m.pid)
end

local function alive(pid)
	local f = io.open("/proc/" .. pid .. "/stat")
	local stat = f and f:read("l")
	if f then
		f:close()
	end
	return stat ~= nil and not stat:match("^%d+ %b() Z")
end

local function log_tail(m)
	local f = io.open(m.dir .. "/etcd.log")
	local text = f and f:read("a") or ""
	if f then
		f:close()
	end
	return text:sub(-2000)
end

-- Waits until the member answers a read (which needs a quorum): true, or
-- false when its process ended (a port taken meanwhile by another test).
local function ready(m)
	local cli = etcd.new {endpoints = {m.endpoint}, timeout = 1000}
	for _ = 1, 1200 do -- 120 s: it takes about one
		if cli:get("/") then
			cli:close()
			return true
		end
		if not alive(m.pid) then
			return false
		end
		time.sleep(100)
	end
	T.fail("etcd " .. m.name .. " did not answer within 120 s; its log ends:\n" .. log_tail(m))
end

-- Starts n members; when one of them could not start, all of them again on
-- other ports (three tries).
local function start_all(n, name)
	for _ = 1, 3 do
		local list = members(n, name)
		for _, m in ipairs(list) do
			launch(m)
		end
		local ok = true
		for _, m in ipairs(list) do
			ok = ok and ready(m)
		end
		if ok then
			return list
		end
		for _, m in ipairs(list) do
			T.kill(m.pid, "KILL")
		end
	end
	T.fail("etcd did not start in three tries")
end

function E.new(name)
	return start_all(1, name)[1]
end

function E.cluster(n, name)
	return start_all(n, name)
end

-- Starts the member (again, with its data) and waits until it answers.
function E:start()
	launch(self)
	if not ready(self) then
		T.fail("etcd " .. self.name .. " did not start again; its log ends:\n" .. log_tail(self))
	end
end

-- Kills the member (SIGKILL: etcd is built to survive it) and waits until
-- it is gone.
function E:stop()
	T.kill(self.pid, "KILL")
	self.pid = nil
end

return E
