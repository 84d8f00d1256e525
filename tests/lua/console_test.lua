-- silly.console over a real TCP connection: the original's banner, prompt
-- and replies byte for byte, custom commands, AUTH with a secret, a line
-- too long; and a hot patch: a cluster handler's module replaced through
-- INJECT and silly.patch while a link stays up, its counter going on from
-- where it was.
local tcp = require "silly.net.tcp"
local console = require "silly.console"
local T = require "testaux"

local PROMPT = "console> "
local BANNER = "\nWelcome to console.\n\nType 'help' for help.\n\n" .. PROMPT

-- A console client: sends a line, reads through the next prompt.
local function client(addr)
	local fd = T.ok(tcp.connect(addr))
	local c = {fd = fd, buf = ""}
	function c.upto(mark)
		while true do
			local at = c.buf:find(mark, 1, true)
			if at then
				local out = c.buf:sub(1, at + #mark - 1)
				c.buf = c.buf:sub(at + #mark)
				return out
			end
			local more = tcp.readsome(fd)
			if not more then
				local out = c.buf
				c.buf = ""
				return out, "closed"
			end
			c.buf = c.buf .. more
		end
	end
	function c.ask(line)
		tcp.write(fd, line .. "\r\n")
		return c.upto(PROMPT)
	end
	return c
end

-- The game's handler module, as a node would have loaded it.
package.loaded["game.counter"] = load([[
	local count = 0
	local M = {}
	function M.count()
		count = count + 1
		return "v1:" .. count
	end
	return M
]], "=game/counter.lua")()

local PATCH = [[
local patch = require "silly.patch"
local old = package.loaded["game.counter"]
local new = load(%q, "=game/counter.lua (v2)", "t", _ENV)()
local P = patch.new()
_G.patched_absent = P:join(P:collectupval(new), P:collectupval(old))
for name, fn in pairs(new) do
	old[name] = fn
end
]]
local V2 = [[
	local count = 0
	local M = {}
	function M.count()
		count = count + 1
		return "v2:" .. count
	end
	return M
]]

T.run(function()
	local lfd = T.ok(console {addr = "127.0.0.1:0", cmd = {
		hello = function(_, who) return "hello " .. tostring(who) end,
		lines = function() return {"a", "b"} end,
		boom = function() error("custom failed") end,
	}})
	local addr = tcp.sockname(lfd)
	local c = client(addr)
	T.eq(c.upto(PROMPT), BANNER, "the banner and the prompt, byte for byte")
	T.eq(c.ask("PING"), "PONG\n" .. PROMPT, "PING")
	T.eq(c.ask("ping hello"), "hello\n" .. PROMPT, "PING <text>, any case")
	T.eq(c.ask(""), "\n" .. PROMPT, "an empty line: the prompt again")
	T.ok(c.ask("GC"):match("^Lua Mem Used:%d+%.%d%d KiB\n" .. PROMPT .. "$"), "GC")
	T.eq(c.ask("NOPE x"), "ERR unknown command 'NOPE'\n" .. PROMPT, "an unknown command")
	T.eq(c.ask("INJECT"), "ERR lost the filepath\n" .. PROMPT, "INJECT without a path")
	T.ok(c.ask("HELP"):find("PING: Test connection alive. [PING <text>]\n", 1, true), "HELP lists the commands")
	T.ok(c.ask("DEBUG"):find("^ERR DEBUG is not supported"), "DEBUG says it is not supported")
	T.eq(c.ask("hello world"), "hello world\n" .. PROMPT, "a custom command")
	T.eq(c.ask("LINES"), "a\nb\n" .. PROMPT, "a custom command's lines")
	T.ok(c.ask("boom"):find("^ERR .*custom failed"), "a custom command that raises: ERR, the session goes on")
	local info = c.ask("INFO")
	T.ok(info:find("\r\n#Build\r\nversion:", 1, true), "INFO: the build")
	T.ok(info:find("multiplexing_api:epoll", 1, true) or info:find("multiplexing_api:kqueue", 1, true), "the poller")
	T.ok(info:find("process_resident_memory_bytes:%d"), "INFO: the metrics as name:value")
	T.ok(c.ask("TASK"):find("^#Task %(%d+%)\r\nTask thread: "), "TASK: the tasks and their tracebacks")
	T.ok(c.ask("SOCKET"):find("^#Socket\r\nlistening: %d+"), "SOCKET: the counts")
	T.ok(c.ask("SOCKET " .. lfd):find("localaddr: " .. addr, 1, true), "SOCKET <fd>: one socket")
	T.ok(c.ask("MEM"):find("^lua_kib:"), "MEM")
	T.ok(c.ask("BUDGET"):find("^budget_ms:5000\r\nexceeded:0\n"), "BUDGET: the default budget, nothing stopped")
	T.ok(c.ask("LINKS"):find("^#Links %(%d+%)"), "LINKS")

	-- A hot patch: a cluster handler calls into game.counter.
	local server = T.cluster {call = function() return require("game.counter").count() end}
	local slfd = T.ok(server.listen("127.0.0.1:0"))
	local caller = T.cluster {}
	local link = T.ok(caller.connect(tcp.sockname(slfd)))
	for i = 1, 3 do
		T.eq(caller.call(link, 1, ""), "v1:" .. i, "before the patch, call " .. i)
	end
	local file = (os.getenv("TEST_TMPDIR") or "/tmp") .. "/counter_patch.lua"
	local f = assert(io.open(file, "w"))
	f:write(string.format(PATCH, V2))
	f:close()
	T.eq(c.ask("INJECT " .. file), "Inject file:" .. file .. " Success\n" .. PROMPT, "INJECT: Success")
	T.deepeq(_G.patched_absent, {}, "every upvalue of the new code had one in the old")
	T.eq(caller.call(link, 1, ""), "v2:4", "the new code, and the count goes on from 3")
	T.eq(caller.call(link, 1, ""), "v2:5", "and on")
	T.ok(tcp.isalive(link), "the link stayed up")
	T.ok(c.ask("LINKS"):find("#Links (2)", 1, true), "LINKS shows both ends of it")
	local bad = (os.getenv("TEST_TMPDIR") or "/tmp") .. "/bad_patch.lua"
	f = assert(io.open(bad, "w"))
	f:write("error('refused on purpose')")
	f:close()
	local reply = c.ask("INJECT " .. bad)
	T.eq(reply:sub(1, #("Inject file:" .. bad .. " ")), "Inject file:" .. bad .. " ", "INJECT: the file")
	T.ok(reply:find("refused on purpose", 1, true), "and the error")
	T.eq(caller.call(link, 1, ""), "v2:6", "a failed inject changes nothing")

	local out, closed = c.ask("QUIT")
	T.eq(out, "Bye, Bye\n", "QUIT")
	T.eq(closed, "closed", "and the console closes")

	-- A secret.
	local sfd = T.ok(console {addr = "127.0.0.1:0", secret = "s3cret"})
	local saddr = tcp.sockname(sfd)
	local s = client(saddr)
	T.eq(s.upto(PROMPT), BANNER, "the banner first")
	out, closed = s.ask("PING")
	T.deepeq({out, closed}, {"ERR authentication required\n", "closed"}, "a command before AUTH: refused, closed")
	s = client(saddr)
	s.upto(PROMPT)
	out, closed = s.ask("AUTH wrong")
	T.deepeq({out, closed}, {"ERR authentication required\n", "closed"}, "a wrong secret: refused")
	s = client(saddr)
	s.upto(PROMPT)
	T.eq(s.ask("AUTH s3cret"), "OK\n" .. PROMPT, "the secret: OK")
	T.eq(s.ask("PING"), "PONG\n" .. PROMPT, "then commands")

	-- A line longer than 64 KiB ends the session.
	local l = client(addr)
	l.upto(PROMPT)
	tcp.write(l.fd, string.rep("x", 70 * 1024))
	out, closed = l.upto(PROMPT)
	T.deepeq({out, closed}, {"", "closed"}, "a line too long closes the session, answered with nothing")

	-- Off loopback without a secret: a warning (a process of its own, whose
	-- log is read; nothing connects to it).
	local text = T.shell()(string.format("%s %s/helper_console_open.lua", T.silly, T.dir))
	T.ok(text:find("[console] listening on 0.0.0.0:0 without a secret", 1, true), "the warning: " .. text)

	T.raises(function() console {} end, "silly.console: a table {addr", "no address raises")
	T.raises(function() console {addr = "127.0.0.1:0", secret = ""} end, "secret must be", "an empty secret raises")
end)
