-- silly.console: a text console on a TCP port for operating a live node.
--
-- require "silly.console" {addr = "127.0.0.1:2345" [, cmd = {name = fn},
-- secret = "..."]} -> listener fd, or nil and why. A client gets the
-- banner and the `console> ` prompt; each line is a command and its
-- words (case-insensitive name). The original framework's commands answer
-- byte for byte as its console did (HELP, PING, GC, INFO, SOCKET, TASK,
-- INJECT, QUIT); ours add what a cluster operator needs (LINKS, MEM,
-- BUDGET). A custom command `cmd[name](fd, words...)` returns a string, a
-- list of lines, or nil to end the session. With `secret`, the first line must be
-- `AUTH <secret>`. docs/operations.md has the commands and how to patch a
-- handler through INJECT.
local silly = require "silly"
local logger = require "silly.logger"
local tcp = require "silly.net.tcp"
local metrics = require "silly.metrics"
local mc = require "silly.metrics.c"
local utils = require "silly.crypto.utils"

local type = type
local pairs = pairs
local pcall = pcall
local loadfile = loadfile
local tostring = tostring
local lower = string.lower
local format = string.format
local concat = table.concat
local unpack = table.unpack

local PROMPT = "console> "
local BANNER = "\nWelcome to console.\n\nType 'help' for help.\n\n"
local MAX_LINE = 64 * 1024 -- a longer line ends the session

local HELP = {
	"HELP: List command description. [HELP]",
	"PING: Test connection alive. [PING <text>]",
	"GC: Performs a full garbage-collection cycle. [GC]",
	"INFO: Show all information of server. [INFO]",
	"SOCKET: Show socket detail information. [SOCKET]",
	"TASK: Show all task status and traceback. [TASK]",
	"INJECT: INJECT code. [INJECT <path>]",
	"DEBUG: Enter Debug mode. [DEBUG]",
	"QUIT: Quit the console. [QUIT]",
	"LINKS: Cluster links and their peers: pending calls, bytes, pings. [LINKS]",
	"MEM: Memory of Lua and of the allocator. [MEM]",
	"BUDGET: The task budget and the tasks it stopped. [BUDGET]",
}

-- Globals seen by injected files: their own table, misses fall through.
local inject_env_mt = {__index = _ENV}

local commands = {}

function commands.help()
	return HELP
end

function commands.quit()
	return nil
end
commands.exit = commands.quit

function commands.ping(_, text)
	return text or "PONG"
end

function commands.gc()
	collectgarbage()
	return format("Lua Mem Used:%.2f KiB", collectgarbage("count"))
end

function commands.task()
	local out = {}
	local n = 0
	for co, info in pairs(silly.tasks()) do
		n = n + 1
		out[#out + 1] = format("Task %s - %s :", co, info.status)
		out[#out + 1] = info.traceback .. "\r\n\r\n"
	end
	return format("#Task (%s)\r\n", n) .. concat(out)
end

-- The metrics' exposition as the original's "name:value" lines.
local function metric_lines(out)
	for line in metrics.text():gmatch("[^\n]+") do
		if line:sub(1, 1) ~= "#" then
			out[#out + 1] = (line:gsub(" ([^ ]*)$", ":%1"))
		end
	end
end

function commands.info()
	require("silly.metrics.collectors").enable()
	local out = {""}
	out[#out + 1] = "#Build"
	out[#out + 1] = format("version:%s", silly.version)
	out[#out + 1] = format("git_sha1:%s", silly.gitsha1)
	out[#out + 1] = format("multiplexing_api:%s", mc.pollapi())
	out[#out + 1] = format("memory_allocator:%s", mc.jemalloc() and "jemalloc" or "glibc")
	out[#out + 1] = ""
	out[#out + 1] = "#Process"
	out[#out + 1] = format("process_id:%s", silly.pid)
	metric_lines(out)
	out[#out + 1] = ""
	return concat(out, "\r\n")
end

function commands.socket(_, fd)
	local st = mc.runtime()
	if not fd then
		return format("#Socket\r\nlistening: %d\r\nconnecting: %d\r\nstreams: %d\r\ntls_streams: %d\r\n" ..
			"udp: %d\r\n", st.listening, st.connecting, st.streams, st.tls_streams, st.udp)
	end
	local id = math.tointeger(tonumber(fd))
	if not id or not tcp.isalive(id) then
		return "ERR no such socket: " .. fd
	end
	return format("#Socket\r\nfd: %d\r\nlocaladdr: %s\r\nrecvsize: %d\r\nsendsize: %d\r\n", id,
		tostring(tcp.sockname(id)), tcp.recvsize(id), tcp.sendsize(id))
end

function commands.inject(_, path)
	if not path then
		return "ERR lost the filepath"
	end
	local ok
	local chunk, err = loadfile(path, "bt", setmetatable({}, inject_env_mt))
	if chunk then
		ok, err = pcall(chunk)
	end
	if ok then
		logger.info("[console] injected", path)
		return format("Inject file:%s Success", path)
	end
	logger.error("[console] inject", path, "failed:", err)
	return format("Inject file:%s %s", path, tostring(err))
end

function commands.debug()
	return "ERR DEBUG is not supported: attach a debugger to the process instead"
end

function commands.links()
	local cluster = package.loaded["silly.net.cluster"]
	if not cluster then
		return "#Links (0)\r\nsilly.net.cluster is not in use"
	end
	local st = cluster.stats()
	local out = {}
	local n = 0
	for fd, l in pairs(st.links) do
		n = n + 1
		local fields = {}
		for k, v in pairs(l) do
			if k ~= "addr" and type(v) ~= "table" then
				fields[#fields + 1] = k .. ":" .. tostring(v)
			end
		end
		table.sort(fields)
		out[#out + 1] = format("link %d %s %s", fd, tostring(l.addr), concat(fields, " "))
	end
	table.sort(out)
	return format("#Links (%d)\r\npending:%d dropped:%d expired:%d\r\n", n, st.pending, st.dropped, st.expired) ..
		concat(out, "\r\n")
end

function commands.budget()
	local st = require("silly.budget.c").stats()
	return format("budget_ms:%d\r\nexceeded:%d", st.budget_ms, st.exceeded)
end

function commands.mem()
	local out = {format("lua_kib:%.2f", collectgarbage("count"))}
	local je = mc.jemalloc()
	if je then
		for _, k in ipairs({"allocated", "active", "resident", "mapped", "retained"}) do
			if je[k] then
				out[#out + 1] = format("jemalloc_%s_bytes:%d", k, je[k])
			end
		end
	end
	local p = mc.process()
	out[#out + 1] = format("resident_bytes:%s", tostring(p.resident_bytes))
	return concat(out, "\r\n")
end

-- One command line: the reply (a string or lines), or nil to end.
local function run(fd, custom, line)
	local words = {}
	for w in line:gmatch("%g+") do
		words[#words + 1] = w
	end
	if #words == 0 then
		return ""
	end
	local name = lower(words[1])
	local fn = commands[name] or (custom and custom[name])
	if not fn then
		return format("ERR unknown command '%s'", words[1])
	end
	local ok, res = pcall(fn, fd, unpack(words, 2))
	if not ok then
		logger.error("[console] command", words[1], "failed:", res)
		return "ERR " .. tostring(res)
	end
	return res
end

-- A line without its end of line; nil when the peer left or sent a line
-- longer than MAX_LINE.
local function readline(fd, pending)
	while true do
		local nl = pending.buf:find("\n", 1, true)
		if nl then
			local line = pending.buf:sub(1, nl - 1)
			pending.buf = pending.buf:sub(nl + 1)
			return (line:gsub("\r$", ""))
		end
		if #pending.buf > MAX_LINE then
			return nil
		end
		local more = tcp.readsome(fd, MAX_LINE)
		if not more then
			return nil
		end
		pending.buf = pending.buf .. more
	end
end

local function session(fd, addr, conf)
	logger.info("[console] client from", addr)
	local pending = {buf = ""}
	tcp.write(fd, BANNER)
	tcp.write(fd, PROMPT)
	if conf.secret then
		local line = readline(fd, pending)
		local given = line and line:match("^%s*[Aa][Uu][Tt][Hh]%s+(.-)%s*$")
		if not given or not utils.equal(given, conf.secret) then
			logger.warn("[console] refused", addr, "(no or wrong AUTH)")
			tcp.write(fd, "ERR authentication required\n")
			tcp.close(fd)
			return
		end
		tcp.write(fd, "OK\n" .. PROMPT)
	end
	while true do
		local line = readline(fd, pending)
		if not line then
			break
		end
		local res = run(fd, conf.cmd, line)
		if res == nil then
			tcp.write(fd, "Bye, Bye\n")
			break
		end
		if type(res) == "table" then
			res = concat(res, "\n")
		end
		tcp.write(fd, tostring(res) .. "\n" .. PROMPT)
	end
	tcp.close(fd)
	logger.info("[console]", addr, "left")
end

local function is_loopback(addr)
	local host = addr:match("^%[(.*)%]:%d+$") or addr:match("^(.*):%d+$") or ""
	return host:find("^127%.") ~= nil or host == "::1" or host == "localhost"
end

return function(conf)
	if type(conf) ~= "table" or type(conf.addr) ~= "string" then
		error("silly.console: a table {addr = \"host:port\" [, cmd = {...}, secret = \"...\"]} expected", 2)
	end
	if conf.cmd ~= nil and type(conf.cmd) ~= "table" then
		error("silly.console: cmd must be a table of functions", 2)
	end
	if conf.secret ~= nil and (type(conf.secret) ~= "string" or conf.secret == "") then
		error("silly.console: secret must be a non-empty string", 2)
	end
	if not conf.secret and not is_loopback(conf.addr) then
		logger.warn("[console] listening on", conf.addr, "without a secret: anyone who reaches it can run code")
	end
	local custom
	if conf.cmd then
		custom = {}
		for k, v in pairs(conf.cmd) do
			custom[lower(k)] = v
		end
	end
	return tcp.listen(conf.addr, function(fd, addr)
		session(fd, addr, {secret = conf.secret, cmd = custom})
	end)
end
