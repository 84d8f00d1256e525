-- silly.store.mysql: a pool of MySQL/MariaDB connections on our loop.
--
-- mysql.open{addr, user, password, database, ...} -> pool
-- pool:query(sql, ...) -> rows | ok, or nil, err: every statement runs
--   prepared (kept per connection) with `...` bound to its placeholders;
--   rows are tables keyed by column name, an OK table has affected_rows,
--   last_insert_id, server_status, warning_count and the server's message;
--   err is {type = "ERR", errno, sqlstate, message}.
-- pool:ping(); pool:begin() -> tx with query/ping/commit/rollback/close
--   (a tx is a connection held until close, or `local tx <close>`);
--   pool:close().
-- The protocol is MariaDB Connector/C's (silly.mysql.c, non-blocking on our
-- loop); the pool is here: connections opened on demand up to
-- max_open_conns (later callers wait their turn, first come first served),
-- max_idle_conns kept for reuse, closed after max_idle_time or
-- max_lifetime seconds.
local silly = require "silly"
local time = require "silly.time"
local dns = require "silly.net.dns"
local logger = require "silly.logger"
local c = require "silly.mysql.c"

local type = type
local error = error
local tostring = tostring
local setmetatable = setmetatable
local monotonic = time.monotonic
local checkblock = silly._checkblock
local suspend = silly._suspend
local wake = silly._wake

local c_new = c.new
local c_connect = c.connect
local c_query = c.query
local c_command = c.command
local c_ping = c.ping
local c_next = c.next
local c_outcome = c.outcome
local c_close = c.close
local c_broken = c.broken
local c_alive = c.alive

-- Defaults of ours (the original framework has none of these limits).
local DEFAULT_TIMEOUT = 30000 -- ms a request may take; 0: no limit
local DEFAULT_CONNECT_TIMEOUT = 10 -- seconds, as MySQL's connect_timeout
local DEFAULT_IDLE = 2 -- connections kept for reuse
-- The largest packet taken from a server (the library's own is 1 GiB: a
-- broken or hostile server could make us allocate that much).
local DEFAULT_MAX_PACKET = 64 * 1024 * 1024
-- An idle connection this old (ms) is checked before reuse: the server
-- may have closed it (wait_timeout) or gone.
local CHECK_IDLE_AFTER = 1000

local waiting = {} -- C connection -> the task its request suspended
c.ondone(function(cc)
	local co = waiting[cc]
	waiting[cc] = nil
	if co then
		wake(co)
	end
end)

-- Each request of silly.mysql.c says whether it finished at once.
local function await(cc, co, finished)
	if not finished then
		waiting[cc] = co
		suspend("mysql", "MYSQL")
	end
end

local function own_error(message)
	return {type = "ERR", message = message}
end

local conn_mt
local pool_mt

--------------------------------- connection ---------------------------------

-- Runs a statement on the connection; a caller's mistake comes back as the
-- third value.
local function exec(conn, co, sql, ...)
	local cc = conn.cc
	if not cc then
		return nil, own_error("the connection is closed")
	end
	local timeout = conn.pool.timeout
	local finished, why = c_query(cc, timeout, sql, ...)
	if finished == nil then
		return nil, own_error(why), "misuse"
	end
	await(cc, co, finished)
	-- On failure the third value is "misuse" for a caller's mistake.
	local res, err, more = c_outcome(cc)
	if more and res then
		-- A CALL's result sets, one after another: their rows together.
		local rows = res.type == nil and res or nil
		while more do
			await(cc, co, c_next(cc, timeout))
			local r, e, m = c_outcome(cc, rows)
			if not r then
				res, err = nil, e
				break
			end
			if r.type == nil then
				rows = r
			end
			res, more = rows or r, m
		end
	end
	if err == nil then
		return res, nil
	end
	if c_broken(cc) then
		conn.is_broken = true
	end
	return nil, err, more
end

local function conn_query(conn, sql, ...)
	local co = checkblock("tx:query")
	if type(sql) ~= "string" then
		error("tx:query: sql string expected, got " .. type(sql), 2)
	end
	local res, err, misuse = exec(conn, co, sql, ...)
	if misuse then
		error("tx:query: " .. err.message, 2)
	end
	return res, err
end

local function simple(conn, co, start, ...)
	local cc = conn.cc
	if not cc then
		return nil, own_error("the connection is closed")
	end
	await(cc, co, start(cc, conn.pool.timeout, ...))
	local res, err = c_outcome(cc)
	if not res and c_broken(cc) then
		conn.is_broken = true
	end
	return res, err
end

local function conn_ping(conn)
	return simple(conn, checkblock("tx:ping"), c_ping)
end

local function finish_tx(fname, sql)
	return function(conn)
		local co = checkblock(fname)
		if conn.is_autocommit then
			return nil, own_error("not in transaction")
		end
		conn.is_autocommit = true
		return simple(conn, co, c_command, sql)
	end
end
local conn_commit = finish_tx("tx:commit", "COMMIT")
local conn_rollback = finish_tx("tx:rollback", "ROLLBACK")

local function close_link(conn)
	local cc = conn.cc
	if cc then
		conn.cc = nil
		waiting[cc] = nil
		c_close(cc)
	end
end

-- Lets the next waiting task have the connection, or a free slot (false).
local function hand_over(pool, conn)
	local queue = pool.waiting_for_conn
	local co = queue[1]
	if not co then
		return false
	end
	table.remove(queue, 1)
	wake(co, conn or false)
	return true
end

local function forget(pool, conn)
	close_link(conn)
	pool.open_count = pool.open_count - 1
	if not pool.is_closed then
		hand_over(pool, nil)
	end
end

-- Gives the connection back: to a waiting task, to the idle list, or
-- closed. A transaction left open is rolled back first: the next user
-- must not inherit it.
local function conn_release(conn)
	local cc = conn.cc
	if not cc then
		return
	end
	local pool = conn.pool
	conn.in_use = false
	if not conn.is_autocommit and not conn.is_broken and not pool.is_closed then
		local co = silly._current()
		if co then
			conn.is_autocommit = true
			local ok = simple(conn, co, c_command, "ROLLBACK")
			if not ok then
				conn.is_broken = true
			end
		else
			conn.is_broken = true -- no task to wait in: closing rolls it back
		end
	end
	if pool.is_closed or conn.is_broken or c_broken(cc) then
		forget(pool, conn)
		return
	end
	if hand_over(pool, conn) then
		return
	end
	local idle = pool.conns_idle
	if #idle < pool.max_idle_conns then
		conn.returned_at = monotonic()
		idle[#idle + 1] = conn
		return
	end
	forget(pool, conn)
end

local function split_addr(addr)
	local host, port = addr:match("^%[(.+)%]:(%d+)$")
	if not host then
		host, port = addr:match("^([^:]+):(%d+)$")
	end
	if not host then
		return nil
	end
	return host, tonumber(port)
end

local function conn_open(pool, co)
	local host, port = split_addr(pool.addr)
	if not host then
		return nil, own_error("invalid address: " .. pool.addr)
	end
	if dns.isname(host) then
		-- The library would resolve it with a blocking call: ours does not.
		local ip, err = dns.lookup(host, dns.A)
		if not ip then
			return nil, own_error("connect to " .. pool.addr .. " failed: " .. tostring(err))
		end
		host = ip
	end
	local now = monotonic()
	local conn = setmetatable({
		pool = pool,
		cc = c_new(),
		created_at = now,
		returned_at = now,
		is_autocommit = true,
		is_broken = false,
		in_use = true,
	}, conn_mt)
	local cc = conn.cc
	await(cc, co, c_connect(cc, host, port, pool.user, pool.password, pool.database, pool.charset,
		pool.connect_timeout * 1000, pool.max_packet_size))
	local ok, err = c_outcome(cc)
	if not ok then
		close_link(conn)
		return nil, err
	end
	return conn, nil
end

--------------------------------- pool ---------------------------------

local function expired(pool, conn, now)
	local lifetime = pool.max_lifetime
	if lifetime > 0 and now - conn.created_at >= lifetime * 1000 then
		return true
	end
	local idle = pool.max_idle_time
	return idle > 0 and now - conn.returned_at >= idle * 1000
end

-- A connection for one request or a transaction: an idle one, a new one,
-- or, at max_open_conns, the next one given back.
local function conn_get(pool, co)
	if pool.is_closed then
		return nil, own_error("pool is closed")
	end
	local idle = pool.conns_idle
	local now = monotonic()
	while #idle > 0 do
		local conn = idle[#idle]
		idle[#idle] = nil
		if expired(pool, conn, now) or (now - conn.returned_at >= CHECK_IDLE_AFTER and not c_alive(conn.cc)) then
			forget(pool, conn)
		else
			conn.in_use = true
			return conn, nil
		end
	end
	local max = pool.max_open_conns
	if max > 0 and pool.open_count >= max then
		local queue = pool.waiting_for_conn
		queue[#queue + 1] = co
		local conn = suspend("mysql", "MYSQL")
		if conn then
			conn.in_use = true
			return conn, nil
		end
		if pool.is_closed then
			return nil, own_error("pool is closed")
		end
		if pool.open_count >= max then -- woken for a slot another took
			return conn_get(pool, co)
		end
	end
	pool.open_count = pool.open_count + 1
	local conn, err = conn_open(pool, co)
	if not conn then
		pool.open_count = pool.open_count - 1
		hand_over(pool, nil)
		return nil, err
	end
	return conn, nil
end

local function tick(pool)
	if pool.is_closed then
		return
	end
	local now = monotonic()
	local idle = pool.conns_idle
	local keep = 1
	for i = 1, #idle do
		local conn = idle[i]
		idle[i] = nil
		if expired(pool, conn, now) then
			forget(pool, conn)
		else
			idle[keep] = conn
			keep = keep + 1
		end
	end
	time.after(1000, tick, pool)
end

local function check_count(opts, key, default)
	local v = opts[key]
	if v == nil then
		return default
	end
	if math.type(v) ~= "integer" or v < 0 then
		error("mysql.open: " .. key .. " must be a non-negative integer, got " .. tostring(v), 3)
	end
	return v
end

local M = {_VERSION = "0.14"}

---Opens a pool; no connection is made until the first request.
---@param opts table
---@return table pool
function M.open(opts)
	if type(opts) ~= "table" then
		error("mysql.open: a table {addr = \"host:port\", user = , password = , database = } expected", 2)
	end
	local addr = opts.addr or "127.0.0.1:3306"
	if type(addr) ~= "string" or not split_addr(addr) then
		error("mysql.open: addr must be \"host:port\", got " .. tostring(addr), 2)
	end
	for _, key in ipairs {"user", "password", "database", "charset"} do
		if opts[key] ~= nil and type(opts[key]) ~= "string" then
			error("mysql.open: " .. key .. " must be a string", 2)
		end
	end
	local pool = setmetatable({
		addr = addr,
		database = opts.database or "",
		user = opts.user or "",
		password = opts.password or "",
		charset = (opts.charset ~= "_default" and opts.charset) or "",
		max_packet_size = check_count(opts, "max_packet_size", DEFAULT_MAX_PACKET),
		max_open_conns = check_count(opts, "max_open_conns", 0),
		max_idle_conns = check_count(opts, "max_idle_conns", DEFAULT_IDLE),
		max_idle_time = check_count(opts, "max_idle_time", 0),
		max_lifetime = check_count(opts, "max_lifetime", 0),
		timeout = check_count(opts, "timeout", DEFAULT_TIMEOUT),
		connect_timeout = check_count(opts, "connect_timeout", DEFAULT_CONNECT_TIMEOUT),
		open_count = 0,
		conns_idle = {},
		waiting_for_conn = {},
		is_closed = false,
	}, pool_mt)
	if pool.max_idle_time > 0 or pool.max_lifetime > 0 then
		time.after(1000, tick, pool)
	end
	return pool
end

---Runs one statement on a connection of the pool.
---@return table? result, table? err
function M.query(pool, sql, ...)
	local co = checkblock("pool:query")
	if type(sql) ~= "string" then
		error("pool:query: sql string expected, got " .. type(sql), 2)
	end
	-- Given back however this ends, an error raised inside included.
	local conn <close>, err = conn_get(pool, co)
	if not conn then
		return nil, err
	end
	local res, misuse
	res, err, misuse = exec(conn, co, sql, ...)
	if misuse then
		error("pool:query: " .. err.message, 2)
	end
	return res, err
end

function M.ping(pool)
	local co = checkblock("pool:ping")
	local conn <close>, err = conn_get(pool, co)
	if not conn then
		return nil, err
	end
	return simple(conn, co, c_ping)
end

---A connection in a transaction, held until tx:close().
function M.begin(pool)
	local co = checkblock("pool:begin")
	local conn, err = conn_get(pool, co)
	if not conn then
		return nil, err
	end
	local res
	res, err = simple(conn, co, c_command, "BEGIN")
	if not res then
		conn_release(conn)
		return nil, err
	end
	conn.is_autocommit = false
	return conn, nil
end

function M.close(pool)
	if pool.is_closed then
		return
	end
	pool.is_closed = true
	local idle = pool.conns_idle
	for i = #idle, 1, -1 do
		local conn = idle[i]
		idle[i] = nil
		forget(pool, conn)
	end
	local queue = pool.waiting_for_conn
	for i = 1, #queue do
		local co = queue[i]
		queue[i] = nil
		wake(co, false)
	end
end

local C = {
	query = conn_query,
	ping = conn_ping,
	commit = conn_commit,
	rollback = conn_rollback,
	close = conn_release,
}

conn_mt = {
	__index = C,
	__close = conn_release,
	__gc = function(conn)
		if conn.cc and conn.in_use then
			logger.error("[silly.store.mysql] a connection was never closed (a tx without tx:close?)")
		end
		if conn.cc then
			close_link(conn)
			conn.pool.open_count = conn.pool.open_count - 1
		end
	end,
}

pool_mt = {
	__index = M,
	__gc = M.close,
}

return M
