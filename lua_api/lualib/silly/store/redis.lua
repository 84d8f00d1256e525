-- silly.store.redis: a Redis client on our loop, with the original
-- framework's API. Replies are parsed by hiredis's reader (silly.redis.c).
--
-- redis.new{addr, auth, db, timeout} -> db. Every command is db:<cmd>(...)
--   (or db:<cmd>{...}) -> ok, value: ok false with the error text for an
--   error reply, false and "disconnected" when the link drops, false and
--   "timeout" when no reply came within `timeout` ms (5000; the link is
--   then closed, as its replies can no longer be matched).
-- db:call(cmd, ...) the same with the command by name; db:pipeline(reqs
--   [, ret]) sends a list of commands at once; db:close().
-- Calls from concurrent tasks are pipelined on one connection, replies
-- matched in order. A dropped link fails what waits on it at once; the
-- next call connects again (AUTH and SELECT first).
local silly = require "silly"
local time = require "silly.time"
local tcp = require "silly.net.tcp"
local logger = require "silly.logger"
local mutex = require "silly.sync.mutex"
local c = require "silly.redis.c"

local type = type
local tostring = tostring
local upper = string.upper
local format = string.format
local setmetatable = setmetatable
local monotonic = time.monotonic

local DEFAULT_TIMEOUT = 5000

local redis = {}
local redis_mt = {__index = redis}
local connecting = mutex.new()

-- "*N\r\n" and "\r\n$N\r\n", made once per size.
local heads = setmetatable({}, {__index = function(t, n)
	local s = format("*%d", n)
	t[n] = s
	return s
end})
local lens = setmetatable({}, {__index = function(t, n)
	local s = format("\r\n$%d\r\n", n)
	t[n] = s
	return s
end})

-- Appends the RESP array of `cmd` and `args[first..last]` to `out`.
local function compose(out, cmd, args, first, last)
	local o = #out
	out[o + 1] = heads[last - first + 2]
	out[o + 2] = lens[#cmd]
	out[o + 3] = cmd
	o = o + 3
	for i = first, last do
		local v = args[i]
		if type(v) ~= "string" then
			v = tostring(v)
		end
		out[o + 1] = lens[#v]
		out[o + 2] = v
		o = o + 2
	end
	out[o + 1] = "\r\n"
end

-- Fails every waiting call with `why` and forgets the connection.
local function drop(ctx, why)
	local fd = ctx.fd
	if fd then
		ctx.fd = nil
		tcp.close(fd)
	end
	local q = ctx.queue
	ctx.queue = {}
	ctx.head, ctx.tail = 1, 0
	for _, w in pairs(q) do
		if not w.done then
			w.done = true
			silly._wake(w.co, {false, why})
		end
	end
end

-- The reply reader: one task per connection.
local function read_replies(ctx, fd)
	local reader = c.reader()
	while true do
		local data, err = tcp.readsome(fd)
		if not data then
			if ctx.fd == fd then
				drop(ctx, "disconnected")
			end
			return err
		end
		reader:feed(data)
		while true do
			local has, ok, value = reader:next()
			if not has then
				if has == nil then
					logger.error("[redis] protocol error from", ctx.addr, ok)
					drop(ctx, "protocol error: " .. tostring(ok))
					return
				end
				break
			end
			local head = ctx.head
			local w = ctx.queue[head]
			if not w then
				logger.error("[redis] a reply nobody waits for from", ctx.addr)
				drop(ctx, "protocol error: an unexpected reply")
				return
			end
			ctx.queue[head] = nil
			ctx.head = head + 1
			w.got = w.got + 1
			local ret = w.ret
			if ret then
				ret[#ret + 1] = ok
				ret[#ret + 1] = value
			end
			if w.got == w.n and not w.done then
				w.done = true
				silly._wake(w.co, ret and {true, w.n * 2} or {ok, value})
			end
		end
	end
end

-- The deadline of the oldest call: the link closes when it passes.
local function arm(ctx)
	if ctx.timer or ctx.head > ctx.tail then
		return
	end
	local w = ctx.queue[ctx.head]
	local wait = w.start + ctx.timeout - monotonic()
	ctx.timer = time.after(wait > 0 and wait or 0, function()
		ctx.timer = nil
		local oldest = ctx.queue[ctx.head]
		if not oldest then
			return
		end
		if monotonic() - oldest.start >= ctx.timeout then
			logger.warn("[redis] no reply from", ctx.addr, "within", ctx.timeout, "ms: closing the link")
			drop(ctx, "timeout")
		else
			arm(ctx)
		end
	end)
end

local send

local function connect(ctx)
	local _ <close> = connecting:lock(ctx)
	if ctx.fd then
		return true
	end
	local fd, err = tcp.connect(ctx.addr, nil, ctx.timeout)
	if not fd then
		return false, err
	end
	ctx.fd = fd
	silly.fork(function()
		read_replies(ctx, fd)
	end)
	local ok, why = true, nil
	if ctx.auth then
		ok, why = send(ctx, {"AUTH", ctx.auth}, nil)
	end
	if ok and ctx.db then
		ok, why = send(ctx, {"SELECT", ctx.db}, nil)
	end
	if not ok then
		drop(ctx, "disconnected")
		return false, why
	end
	return true
end

-- Writes `payload` (n replies expected) and waits for the replies.
local function request(ctx, payload, n, ret)
	local co = silly._checkblock("redis")
	if not ctx.fd then
		local ok, err = connect(ctx)
		if not ok then
			return false, err
		end
	end
	local ok = tcp.write(ctx.fd, payload)
	if not ok then
		drop(ctx, "disconnected")
		return false, "disconnected"
	end
	-- One slot per reply expected, each holding the same waiter.
	local tail = ctx.tail + n
	local w = {co = co, n = n, got = 0, ret = ret, start = monotonic(), done = false}
	local q = ctx.queue
	for i = ctx.tail + 1, tail do
		q[i] = w
	end
	ctx.tail = tail
	arm(ctx)
	local r = silly._suspend("redis", "REDIS")
	return r[1], r[2]
end

-- A command from the connect path: AUTH and SELECT go first.
send = function(ctx, args, ret)
	local out = {}
	compose(out, args[1], args, 2, #args)
	return request(ctx, out, 1, ret)
end

---@return table db
function redis.new(config)
	if type(config) ~= "table" or type(config.addr) ~= "string" then
		error("redis.new: a table {addr = \"host:port\", auth = , db = } expected", 2)
	end
	-- The connection's state lives in `ctx`: a missing field of the object
	-- itself would be taken for a command.
	return setmetatable({ctx = {
		addr = config.addr, auth = config.auth, db = config.db, timeout = config.timeout or DEFAULT_TIMEOUT,
		fd = nil, queue = {}, head = 1, tail = 0, timer = nil,
	}}, redis_mt)
end

function redis:close()
	drop(self.ctx, "disconnected")
end

function redis.select()
	error("redis: give the database to redis.new{db = }: a SELECT would change it for every caller", 2)
end

setmetatable(redis, {__index = function(t, k)
	local cmd = upper(k)
	local f = function(self, p1, ...)
		local out = {}
		if type(p1) == "table" then
			compose(out, cmd, p1, 1, #p1)
		else
			local args = {p1, ...}
			compose(out, cmd, args, 1, select("#", ...) + (p1 == nil and 0 or 1))
		end
		return request(self.ctx, out, 1, nil)
	end
	t[k] = f
	return f
end})

function redis:call(cmd, p1, ...)
	return self[cmd](self, p1, ...)
end

---Sends `reqs` (a list of {cmd, args...}) in one write. With `ret`, fills
---it with ok, value for each and returns true, 2 * #reqs; without, returns
---the last reply's ok, value.
function redis:pipeline(reqs, ret)
	local out = {}
	for i = 1, #reqs do
		local r = reqs[i]
		compose(out, upper(r[1]), r, 2, #r)
	end
	if ret then
		return request(self.ctx, out, #reqs, ret)
	end
	local tmp = {}
	local ok, n = request(self.ctx, out, #reqs, tmp)
	if not ok then
		return ok, n
	end
	return tmp[n - 1], tmp[n]
end

return redis
