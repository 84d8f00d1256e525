-- silly.store.mysql against a real MariaDB server started here (loopback,
-- a temporary data directory, a password): values of every column type
-- both ways, errors, transactions, the pool's limits and queue, the
-- statement cache's bound, and the link's faults (a stopped server times
-- out, a killed one fails what waits at once and the next request
-- reconnects, an idle link the server dropped is replaced unseen).
local time = require "silly.time"
local mysql = require "silly.store.mysql"
local waitgroup = require "silly.sync.waitgroup"
local T = require "testaux"

local tmp = os.getenv("TEST_TMPDIR") or "/tmp"
local dir = tmp .. "/mariadb"
local script = T.dir .. "/../../scripts/mariadb.sh"

-- A process's state letter in /proc ("T" when stopped), its name.
local function proc(pid)
	local f = io.open(string.format("/proc/%d/stat", pid))
	local stat = f and f:read("l")
	if f then
		f:close()
	end
	local name, state = (stat or ""):match("^%d+ %((.-)%) (%a)")
	return state, name
end

local function server_pid()
	local f = assert(io.open(dir .. "/pid"))
	local pid = tonumber(f:read("l"))
	f:close()
	T.adopt(pid)
	local _, name = proc(pid)
	T.eq(name, "mariadbd", "the pid file names the server")
	return pid
end

-- Sends sig and waits until the server is stopped ("T") or running again.
local function signal_server(pid, sig, state)
	T.signal(pid, sig)
	for _ = 1, 500 do
		local now = proc(pid)
		if (state == "T") == (now == "T") then
			return
		end
		time.sleep(10)
	end
	T.fail("mariadbd " .. pid .. " did not take SIG" .. sig)
end

-- On a hive thread: the loop (and the task budget) go on meanwhile.
local shell = T.shell()

local function start(port)
	local out, code = shell(string.format("%s start %s %d s3cret", script, dir, port))
	T.eq(code, 0, "mariadbd started: " .. out)
	return server_pid()
end

local function restart(port)
	local out, code = shell(string.format("%s run %s %d", script, dir, port))
	T.eq(code, 0, "mariadbd started again: " .. out)
	return server_pid()
end

T.run(function()
	local port = T.port()
	local pid = start(port)
	local addr = "127.0.0.1:" .. port
	local opts = {addr = addr, user = "root", password = "s3cret", max_open_conns = 4, max_idle_conns = 4}
	local root = mysql.open(opts)
	T.ok(root:query("CREATE DATABASE game"), "CREATE DATABASE")
	root:close()
	opts.database = "game"
	local db = mysql.open(opts)

	-- Values: SQL to Lua.
	local rows, err = db:query([[SELECT 1 + 1 AS two, -5 AS neg, CAST(18446744073709551615 AS UNSIGNED) AS umax,
		9223372036854775807 AS imax, 2.5e0 AS dbl, 1.25 AS dec_, 'text' AS str, NULL AS nothing,
		DATE '2022-01-01' AS d, TIMESTAMP '2022-01-02 03:04:05' AS dt, TIMESTAMP '2022-01-02 03:04:05.25' AS dtu,
		TIME '-26:03:04' AS t, X'00FF0D0A' AS bin]])
	T.ok(rows, "a SELECT of every kind: " .. tostring(err and err.message))
	local r = rows[1]
	T.eq(#rows, 1, "one row")
	T.eq(math.type(r.two), "integer", "an integer is a Lua integer")
	T.eq(r.two, 2, "1 + 1")
	T.eq(r.neg, -5, "a negative integer")
	T.eq(r.umax, "18446744073709551615", "an unsigned BIGINT past Lua's integers: its digits")
	T.eq(r.imax, math.maxinteger, "the largest BIGINT")
	T.eq(r.dbl, 2.5, "a DOUBLE")
	T.eq(r.dec_, "1.25", "a DECIMAL as its text (exact)")
	T.eq(r.str, "text", "a string")
	T.eq(r.nothing, nil, "NULL leaves the column out")
	T.eq(r.d, "2022-01-01", "a DATE")
	T.eq(r.dt, "2022-01-02 03:04:05", "a DATETIME")
	T.eq(r.dtu, "2022-01-02 03:04:05.250000", "a DATETIME with microseconds")
	T.eq(r.t, "-26:03:04", "a TIME past a day, negative")
	T.eq(r.bin, "\0\255\r\n", "bytes")

	-- Values: Lua to SQL, through a table.
	T.ok(db:query([[CREATE TABLE kinds (id INT AUTO_INCREMENT PRIMARY KEY, i BIGINT, u BIGINT UNSIGNED, f FLOAT,
		x DOUBLE, s VARCHAR(64), b MEDIUMBLOB, flag BOOL, day DATE, at DATETIME(6), n INT NULL)]]), "CREATE TABLE")
	local big = string.rep("\0\1\2\255", 1 << 20) -- 4 MiB of bytes
	local ok
	ok, err = db:query("INSERT INTO kinds (i, u, f, x, s, b, flag, day, at, n) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		math.mininteger, 42, 0.5, 1 / 3, "héllo", big, true, "2024-02-29", "2024-02-29 23:59:59.000001", nil)
	T.ok(ok, "INSERT with ten values: " .. tostring(err and err.message))
	T.eq(ok.type, "OK", "an OK table")
	T.eq(ok.affected_rows, 1, "affected_rows")
	T.eq(ok.last_insert_id, 1, "last_insert_id")
	rows = db:query("SELECT * FROM kinds WHERE id = ?", 1)
	r = rows[1]
	T.eq(r.i, math.mininteger, "the smallest BIGINT back")
	T.eq(r.u, 42, "an unsigned value back")
	T.eq(r.f, 0.5, "a FLOAT back")
	T.eq(r.x, 1 / 3, "a DOUBLE back, every bit")
	T.eq(r.s, "héllo", "UTF-8 text back")
	T.eq(#r.b, #big, "4 MiB of bytes back")
	T.ok(r.b == big, "the same bytes")
	T.eq(r.flag, 1, "true is 1")
	T.eq(r.day, "2024-02-29", "a date given as text")
	T.eq(r.at, "2024-02-29 23:59:59.000001", "microseconds kept")
	T.eq(r.n, nil, "nil is NULL")
	ok = db:query("UPDATE kinds SET s = ? WHERE id = ?", "héllo", 1)
	T.eq(ok.affected_rows, 1, "affected_rows counts the rows matched, as the original (CLIENT_FOUND_ROWS)")
	ok = db:query("UPDATE kinds SET s = 'x' WHERE id = 1")
	T.ok(ok.message and ok.message:find("Rows matched: 1", 1, true), "the server's message: " .. tostring(ok.message))
	rows = db:query("SELECT id FROM kinds WHERE id > ?", 100)
	T.deepeq(rows, {}, "no rows: an empty table")

	-- Errors: the server's, with errno and sqlstate; the link stays.
	ok, err = db:query("INSERT INTO kinds (id) VALUES (1)")
	T.eq(ok, nil, "a duplicate key fails")
	T.eq(err.type, "ERR", "an ERR table")
	T.eq(err.errno, 1062, "ER_DUP_ENTRY")
	T.eq(err.sqlstate, "23000", "its SQLSTATE")
	T.ok(err.message:find("Duplicate entry", 1, true), "its message")
	ok, err = db:query("SELEC 1")
	T.deepeq({ok, err.errno}, {nil, 1064}, "a syntax error")
	ok, err = db:query("SELECT * FROM missing")
	T.eq(ok, nil, "a missing table fails")
	T.ok(err.message:find("doesn't exist", 1, true), "a missing table")
	T.raises(function() db:query("SELECT ?, ?", 1) end, "pool:query: the statement has 2 placeholders but 1 values",
		"placeholders and values that disagree raise")
	T.raises(function() db:query("SELECT ?", {}) end, "pool:query: value 1 is a table", "a table value raises")
	T.raises(function() db:query(42) end, "pool:query: sql string expected", "a non-string statement raises")
	T.raises(function() mysql.open {addr = "nowhere"} end, "mysql.open: addr must be", "a bad address raises")
	T.raises(function() mysql.open {addr = addr, max_open_conns = -1} end, "max_open_conns must be",
		"a negative limit raises")
	T.eq(db.open_count, 1, "one connection served all of the above")

	-- A stored procedure: its result sets' rows together.
	T.ok(db:query("CREATE PROCEDURE two_sets() BEGIN SELECT 1 AS a; SELECT 2 AS a; END"), "CREATE PROCEDURE")
	rows, err = db:query("CALL two_sets()")
	T.deepeq(rows, {{a = 1}, {a = 2}}, "CALL: both result sets' rows" .. tostring(err and err.message))

	-- Transactions.
	T.ok(db:query("CREATE TABLE ledger (id INT PRIMARY KEY, amount INT)"), "CREATE TABLE ledger")
	do
		local tx <close> = assert(db:begin())
		T.ok(tx:query("INSERT INTO ledger VALUES (1, 10)"), "insert in a transaction")
		T.eq(#db:query("SELECT * FROM ledger"), 0, "others do not see it before COMMIT")
		T.ok(tx:commit(), "COMMIT")
		local again, why = tx:commit()
		T.eq(again, nil, "a second COMMIT fails")
		T.eq(why.message, "not in transaction", "and says why")
	end
	T.eq(#db:query("SELECT * FROM ledger"), 1, "committed rows are seen")
	do
		local tx <close> = assert(db:begin())
		tx:query("INSERT INTO ledger VALUES (2, 20)")
		T.ok(tx:rollback(), "ROLLBACK")
	end
	T.eq(#db:query("SELECT * FROM ledger"), 1, "rolled back rows are gone")
	do
		local tx <close> = assert(db:begin())
		tx:query("INSERT INTO ledger VALUES (3, 30)")
		-- Left without COMMIT: closing the tx rolls it back before the
		-- connection goes to anyone else.
	end
	T.eq(#db:query("SELECT * FROM ledger"), 1, "a transaction left open is rolled back on close")
	rows = db:query("SELECT @@in_transaction AS t")
	T.eq(rows[1].t, 0, "and the connection given back is out of it")

	-- The pool: at most max_open_conns, later callers served in turn.
	local wg = waitgroup.new()
	local order = {}
	local t0 = time.monotonic()
	for i = 1, 8 do
		wg:fork(function()
			local res, e = db:query("SELECT SLEEP(0.2) AS s, ? AS i", i)
			T.ok(res, "a queued query: " .. tostring(e and e.message))
			order[#order + 1] = i
		end)
	end
	wg:wait()
	local took = time.monotonic() - t0
	T.eq(#order, 8, "eight queries on four connections")
	T.ge(took, 390, "in two rounds (" .. took .. " ms)")
	T.le(db.open_count, 4, "never more than max_open_conns")
	T.deepeq({order[5] > 4, order[6] > 4, order[7] > 4, order[8] > 4}, {true, true, true, true},
		"the waiting ones come after the first four")

	-- The statement cache: bounded, least recently used closed.
	local one = mysql.open {addr = addr, user = "root", password = "s3cret", database = "game", max_open_conns = 1}
	local limit = require("silly.mysql.c").STATEMENT_CACHE
	for i = 1, limit + 50 do
		assert(one:query("SELECT " .. i .. " AS n"))
	end
	local stats = one:query("SHOW SESSION STATUS LIKE 'Com_stmt_close'")
	T.eq(tonumber(stats[1].Value), 50 + 1, "50 statements closed past the cache's " .. limit
		.. " (and SHOW's own)")
	one:close()

	-- An idle connection the server dropped is replaced unseen.
	local victim = mysql.open {addr = addr, user = "root", password = "s3cret", max_open_conns = 1}
	local id = victim:query("SELECT CONNECTION_ID() AS id")[1].id
	T.ok(db:query("KILL CONNECTION " .. id), "the server drops the idle connection")
	time.sleep(1100)
	rows, err = victim:query("SELECT CONNECTION_ID() AS id")
	T.ok(rows and rows[1].id ~= id, "the next query runs on a new connection: " .. tostring(err and err.message))
	victim:close()

	-- A packet past max_packet_size: refused, the connection closed.
	local small = mysql.open {addr = addr, user = "root", password = "s3cret", max_packet_size = 4096}
	ok, err = small:query("SELECT REPEAT('x', 10000) AS big")
	T.eq(ok, nil, "a row past max_packet_size fails")
	T.ok(err.errno == 2020 or err.errno == 2013, "with the library's error: " .. tostring(err.errno) .. " "
		.. err.message)
	T.eq(small.open_count, 0, "and its connection is closed")
	T.ok(small:query("SELECT 1"), "the next request connects again")
	small:close()

	-- A closed pool.
	local closed = mysql.open(opts)
	closed:close()
	ok, err = closed:query("SELECT 1")
	T.deepeq({ok, err.message}, {nil, "pool is closed"}, "a closed pool refuses")

	-- Wrong credentials and no server.
	local bad = mysql.open {addr = addr, user = "root", password = "wrong"}
	ok, err = bad:ping()
	T.eq(ok, nil, "wrong password fails")
	T.eq(err.errno, 1045, "wrong password: ER_ACCESS_DENIED_ERROR")
	T.ok(err.message:find("Access denied", 1, true), "its message")
	local nobody = mysql.open {addr = "127.0.0.1:1", user = "root"}
	ok, err = nobody:ping()
	T.eq(ok, nil, "no server fails")
	T.ok(err.message:find("Connection refused", 1, true), "no server: " .. err.message)

	-- Faults. A stopped server: the request times out, the link is closed.
	local quick = mysql.open {addr = addr, user = "root", password = "s3cret", timeout = 300, max_open_conns = 1}
	T.ok(quick:ping(), "ping")
	signal_server(pid, "STOP", "T")
	t0 = time.monotonic()
	ok, err = quick:query("SELECT 1")
	took = time.monotonic() - t0
	T.eq(ok, nil, "a stopped server: the request fails")
	T.ok(err.message:find("timeout", 1, true), "with a timeout: " .. err.message)
	T.ge(took, 290, "after its timeout (" .. took .. " ms)")
	T.eq(quick.open_count, 0, "the timed out link is closed")
	signal_server(pid, "CONT", "S")
	T.ok(quick:query("SELECT 1"), "the server back: a new link serves")
	quick:close()

	-- A killed server: every waiting request fails at once, queued ones too.
	local failed = {}
	wg = waitgroup.new()
	for i = 1, 6 do
		wg:fork(function()
			local res, e = db:query("SELECT SLEEP(30) AS s")
			failed[i] = res == nil and e.message
		end)
	end
	time.sleep(300)
	t0 = time.monotonic()
	T.kill(pid, "KILL")
	wg:wait()
	took = time.monotonic() - t0
	for i = 1, 6 do
		T.ok(failed[i], "request " .. i .. " failed: " .. tostring(failed[i]))
	end
	T.le(took, 5000, "at once (" .. took .. " ms), not after SLEEP(30)")
	T.eq(db.open_count, 0, "no connection left open")
	restart(port)
	rows, err = db:query("SELECT COUNT(*) AS n FROM ledger")
	T.ok(rows, "the server back: the pool reconnects: " .. tostring(err and err.message))
	T.eq(rows and rows[1].n, 1, "and sees the committed row")
	db:close()
end, 120000)
