-- MySQL load for bench/mysql/run.sh, on the API silly.store.mysql shares
-- with the original framework (both runtimes run this script): `tasks`
-- tasks each making point selects by primary key (or, with --write=1,
-- single-row UPDATEs) for `seconds` through one pool of `tasks`
-- connections. Prints key=value.
local silly = require "silly"
local env = require "silly.env"
local time = require "silly.time"
local mysql = require "silly.store.mysql"
local waitgroup = require "silly.sync.waitgroup"
local now = time.monotonic_us or require("usclock").now

local addr = env.get("addr") or "127.0.0.1:3306"
local password = env.get("password") or "root"
local tasks = tonumber(env.get("tasks") or "16")
local secs = tonumber(env.get("seconds") or "5")
local rows = tonumber(env.get("rows") or "10000")
local write = env.get("write") == "1"

silly.fork(function()
	local pool = mysql.open {
		addr = addr, user = "root", password = password, database = "bench",
		max_open_conns = tasks, max_idle_conns = tasks,
	}
	local n, failed = 0, 0
	local stop = now() + secs * 1000000
	local wg = waitgroup.new()
	for t = 1, tasks do
		wg:fork(function()
			local id = t
			while now() < stop do
				id = (id * 7919 + 13) % rows + 1
				local res
				if write then
					res = pool:query("UPDATE players SET score = score + 1 WHERE id = ?", id)
				else
					res = pool:query("SELECT id, name, score, updated FROM players WHERE id = ?", id)
					res = res and res[1] and res[1].id == id
				end
				if res then n = n + 1 else failed = failed + 1 end
			end
		end)
	end
	wg:wait()
	print(string.format("qps=%.0f failed=%d", n / secs, failed))
	silly.exit(0)
end)
