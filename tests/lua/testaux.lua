-- Assertions for Lua tests run by the real binary. A failed check prints
-- where it failed and ends the process with 1; T.done() ends it with 0.
local silly = require "silly"
local time = require "silly.time"
local env = require "silly.env"

local T = {}
local checks = 0
local children = {} -- pids started by T.start, killed on every exit

local function reap()
	for _, pid in ipairs(children) do
		os.execute(string.format("kill -9 %d 2>/dev/null", pid))
	end
	children = {}
end

local function fail(msg, level)
	print("FAIL: " .. msg)
	print(debug.traceback("", level or 3))
	io.stdout:flush()
	reap()
	silly.exit(1)
end
T.fail = fail

local function show(v)
	if type(v) == "string" then
		return string.format("%q", v)
	end
	return tostring(v)
end

function T.ok(v, msg)
	checks = checks + 1
	if not v then
		fail((msg or "expected a true value") .. ", got " .. show(v))
	end
	return v
end

function T.eq(a, b, msg)
	checks = checks + 1
	if a ~= b or math.type(a) ~= math.type(b) then
		fail((msg or "values differ") .. ": got " .. show(a) .. " (" .. (math.type(a) or type(a)) ..
			"), want " .. show(b) .. " (" .. (math.type(b) or type(b)) .. ")")
	end
end

function T.le(a, b, msg)
	checks = checks + 1
	if not (a <= b) then
		fail((msg or "not <=") .. ": " .. show(a) .. " > " .. show(b))
	end
end

function T.ge(a, b, msg)
	checks = checks + 1
	if not (a >= b) then
		fail((msg or "not >=") .. ": " .. show(a) .. " < " .. show(b))
	end
end

-- Calls fn and expects it to raise an error containing `pattern` (plain).
function T.raises(fn, pattern, msg)
	checks = checks + 1
	local ok, err = pcall(fn)
	if ok then
		fail((msg or "expected an error") .. " matching '" .. pattern .. "', got none")
	end
	if not tostring(err):find(pattern, 1, true) then
		fail((msg or "wrong error") .. ": '" .. tostring(err) .. "' lacks '" .. pattern .. "'")
	end
end

function T.deepeq(a, b, path)
	path = path or "value"
	if type(a) ~= "table" or type(b) ~= "table" then
		T.eq(a, b, path)
		return
	end
	for k, v in pairs(a) do
		T.deepeq(v, b[k], path .. "." .. tostring(k))
	end
	for k in pairs(b) do
		if a[k] == nil then
			fail(path .. "." .. tostring(k) .. " missing")
		end
	end
end

function T.checks()
	return checks
end

function T.done()
	print(string.format("PASS: %d checks", checks))
	io.stdout:flush()
	reap()
	silly.exit(0)
end

-- Runs the test body in a task; any error fails the test, and so does
-- running past `limit_ms`.
function T.run(fn, limit_ms)
	time.after(limit_ms or 60000, function()
		fail("test timed out", 2)
	end)
	silly.fork(function()
		local ok, err = silly.pcall(fn)
		if not ok then
			fail("error: " .. tostring(err), 2)
		end
		T.done()
	end)
end

-- A port for a helper that must come back on the same address (a peer
-- that restarts). It is taken below the kernel's ephemeral range (where
-- port-0 listeners of other tests live) and checked free by binding it.
function T.port()
	local tcp = require "silly.net.tcp"
	-- Drawn from /dev/urandom: tests that start in the same second, each
	-- in a sandbox of its own (same pid, no address randomization), would
	-- draw the same numbers from math.random.
	local f = assert(io.open("/dev/urandom", "rb"))
	local noise = f:read(200)
	f:close()
	for i = 1, 100 do
		local port = 10000 + string.unpack("<I2", noise, 2 * i - 1) % 20000
		local probe = tcp.listen("127.0.0.1:" .. port, function() end)
		if probe then
			tcp.close(probe)
			return port
		end
	end
	fail("no free port below the ephemeral range", 2)
end

-- conf with every field of extra (if any) set over it; returns conf.
function T.merge(conf, extra)
	for k, v in pairs(extra or {}) do
		conf[k] = v
	end
	return conf
end

-- A cluster codec for tests: cmds pass as given, payloads are strings.
function T.string_marshal(_, cmd, body)
	return cmd, body
end
function T.string_unmarshal(_, _, ptr, size)
	return silly.tostring(ptr, size)
end

-- A cluster instance with the string codec, handlers that do nothing,
-- and extra's fields over them.
function T.cluster(extra)
	return require("silly.net.cluster").new(T.merge({
		marshal = T.string_marshal,
		unmarshal = T.string_unmarshal,
		call = function() end,
		close = function() end,
	}, extra))
end

T.silly = env.get("test.silly")
T.dir = env.get("test.dir")

-- Starts `silly script args` in the background; returns its pid.
function T.spawn(script, args)
	local cmd = string.format("%s %s/%s --lualib_path='%s/?.lua' --test.silly=%s --test.dir=%s %s " ..
		">/dev/null 2>&1 & echo $!", T.silly, T.dir, script, T.dir, T.silly, T.dir, args or "")
	local f = io.popen(cmd)
	local pid = tonumber(f:read("l"))
	f:close()
	return pid
end

-- Starts a helper script (in this folder) and waits for its "ready <addr>"
-- line; returns addr, pid. The helper is killed when the test ends.
-- opts.wrap: a command the helper runs under (prlimit ...); opts.log: a
-- file that keeps everything the helper prints.
function T.start(script, args, opts)
	opts = opts or {}
	local out = opts.log or os.tmpname()
	local cmd = string.format("%s %s %s/%s --lualib_path='%s/?.lua' %s >%s 2>&1 & echo $!", opts.wrap or "",
		T.silly, T.dir, script, T.dir, args or "", out)
	local p = io.popen(cmd)
	local pid = tonumber(p:read("l"))
	p:close()
	children[#children + 1] = pid
	for _ = 1, 500 do
		local f = io.open(out)
		local line = f and f:read("l")
		if f then
			f:close()
		end
		local addr = line and line:match("^ready (.*)$")
		if addr then
			if not opts.log then
				os.remove(out)
			end
			return addr, pid
		end
		time.sleep(10)
	end
	fail("helper " .. script .. " did not start", 2)
end

-- A process the test started itself, killed with the helpers on exit.
function T.adopt(pid)
	children[#children + 1] = pid
end

-- Starts `cmd` (a peer that prints its port on its first line) in the
-- background, adopted; returns the port.
function T.start_peer(cmd)
	local out = os.tmpname()
	local p = io.popen(string.format("%s >%s 2>&1 & echo $!", cmd, out))
	T.adopt(tonumber(p:read("l")))
	p:close()
	for _ = 1, 1000 do
		local f = io.open(out)
		local line = f and f:read("l")
		if f then
			f:close()
		end
		if line and tonumber(line) then
			return tonumber(line)
		end
		time.sleep(10)
	end
	fail("peer did not start: " .. cmd, 2)
end

-- A function that runs a shell command on a silly.hive thread and returns
-- its output and exit code, so that the loop serves the command's requests
-- meanwhile.
function T.shell()
	local hive = require "silly.hive"
	local worker = hive.spawn([[
		return function(cmd)
			local p = io.popen(cmd .. " 2>&1")
			local out = p:read("a")
			local _, _, code = p:close()
			return out, code
		end
	]])
	return function(cmd)
		return hive.invoke(worker, cmd)
	end
end

-- Sends sig (TERM by default); after KILL, also waits (5 s at most) until
-- the process is gone, so that its port is free for a restart.
function T.signal(pid, sig)
	os.execute(string.format("kill -%s %d 2>/dev/null", sig, pid))
end

function T.kill(pid, sig)
	sig = sig or "TERM"
	T.signal(pid, sig)
	if sig ~= "KILL" then
		return
	end
	for _ = 1, 500 do
		local f = io.open(string.format("/proc/%d/stat", pid))
		local stat = f and f:read("l")
		if f then
			f:close()
		end
		-- Gone, or a zombie that holds no socket any more.
		if not stat or stat:match("^%d+ %b() Z") then
			return
		end
		time.sleep(10)
	end
end

return T
