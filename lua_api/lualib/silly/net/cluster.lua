-- silly.net.cluster: RPC between nodes over TCP.
--
-- Framing and sessions live in C++ (silly.cluster.c); this module keeps the
-- instances, their links and the tasks waiting on calls. Payloads are
-- unmarshalled where they arrive, during the C++ callback, because the
-- buffer handed to unmarshal points into the socket's receive ring.
local silly = require "silly"
local net = require "silly.net"
local nc = require "silly.net.c"
local cc = require "silly.cluster.c"
local logger = require "silly.logger"

local pcall = pcall
local xpcall = xpcall
local type = type
local error = error
local mtype = math.type
local traceback = debug.traceback
local spawn = silly._spawn
local spawn_traced = silly._spawn_traced
local current = silly._current
local park = silly._park
local ctracenew = require "silly.c".tracenew
local wake = silly._wake
local next = next
local suspend = silly._suspend
local running = silly.running
local tracenew = silly.tracenew
local crequest = cc.request
local cresponse = cc.response
local xpcall = xpcall

local M = {}

local waiting = {} -- session -> task
local owner = {} -- fd -> instance, for every open link and listener
local live = {} -- instances with open sockets: never collected
local listening = {} -- fd -> true for listeners
-- cmd number -> the name this process's calls used for it. A response is
-- marshalled with the name when there is one, so that a marshal written
-- as "if cmd == 'add' then cmd = 'sum' end" works on the serving side
-- too (the wire carries only the number).
local cmdnames = {}

-- What a waiting call is resumed with when it fails.
local TIMEOUT, CLOSED = {}, {}

local function first_line(s)
	return (tostring(s):match("^[^\n]*"))
end

-- Unmarshal, handler and marshal of one request, in the request's task.
-- It starts synchronously inside the batch, so ptr is still valid for
-- unmarshal; the handler may then yield as it likes.
local function serve(inst, fd, session, cmd, ptr, size)
	local conf = inst.__event
	local body = conf.unmarshal("request", cmd, ptr, size)
	local res = conf.call(body, cmd, fd)
	if res == nil then
		return -- no response
	end
	local _, data, dsize = conf.marshal("response", cmdnames[cmd] or cmd, res)
	local sent, err = cresponse(fd, session, data, dsize)
	if not sent and err ~= "closed" then
		error(err, 0)
	end
end

local function handle_request(inst, fd, session, cmd, ptr, size)
	local ok, err = xpcall(serve, traceback, inst, fd, session, cmd, ptr, size)
	if not ok then
		logger.error("[cluster] request cmd", cmd, "on link", fd, "failed:", err)
		cc.error(fd, session, "handler error: " .. first_line(err))
	end
end

local function release(session, why)
	local co = waiting[session]
	if co then
		waiting[session] = nil
		wake(co, why)
	end
end

local function on_timeout(session)
	release(session, TIMEOUT)
end

-- Forgets fd, fails its calls at once, and tells the instance's close
-- callback with a numeric errno (0 for an orderly end).
local function drop_link(inst, fd, errno)
	owner[fd] = nil
	inst.__fdaddr[fd] = nil
	if next(inst.__fdaddr) == nil then
		live[inst] = nil
	end
	net._forget(fd)
	for _, s in ipairs(cc.faillink(fd)) do
		release(s, CLOSED)
	end
	nc.close(fd)
	if listening[fd] then
		listening[fd] = nil
		return
	end
	spawn(inst.__event.close, fd, errno)
end

local EPROTO = 71
local cnext = cc.next
local resume = silly._resume

-- Every frame of one read.
local function on_link(fd)
	while true do
		local kind, session, a, b, c, d = cnext(fd)
		if kind == 1 then -- request: a=cmd b=traceid c=ptr d=size
			local inst = owner[fd]
			if inst then
				spawn_traced(b, handle_request, inst, fd, session, a, c, d)
			end
		elseif kind == 2 then -- response: a=ptr b=size c=remote error
			local co = waiting[session]
			if co then
				waiting[session] = nil
				resume(co, a, b, c)
			end
		elseif kind == 3 then
			local inst = owner[fd]
			if inst then
				drop_link(inst, fd, EPROTO)
			end
			return
		else
			return
		end
	end
end

cc.dispatch(on_link, on_timeout, silly._drain)

--------------------------------------------------------------------------

local function router(inst)
	return {
		accept = function(fd, _, peer)
			owner[fd] = inst
			inst.__fdaddr[fd] = peer
			local accept = inst.__event.accept
			if accept then
				spawn(accept, fd, peer)
			end
		end,
		data = function() end, -- frames go straight to the C++ callbacks
		close = function(fd, errno)
			if owner[fd] == inst then
				drop_link(inst, fd, errno)
			end
		end,
	}
end

local function check_fd(fname, fd)
	if mtype(fd) ~= "integer" then
		error(fname .. ": fd (integer) expected, got " .. type(fd), 3)
	end
end

-- Resolves "name:port" through silly.net.dns; numeric forms pass through.
local function resolve(addr)
	local host, port = addr:match("^%[(.-)%]:(%w+)$")
	if host then
		return addr
	end
	host, port = addr:match("^(.-):(%w+)$")
	if not host then
		return nil, "invalid address:" .. addr
	end
	local dns = require "silly.net.dns"
	if not dns.isname(host) then
		return addr
	end
	local ip, err = dns.lookup(host, dns.A)
	if ip then
		return ip .. ":" .. port
	end
	local ip6 = dns.lookup(host, dns.AAAA)
	if ip6 then
		return "[" .. ip6 .. "]:" .. port
	end
	return nil, "cannot resolve " .. host .. ": " .. tostring(err)
end

local function encode(fname, inst, cmd, obj)
	local ok, cmdn, data, size = pcall(inst.__event.marshal, "request", cmd, obj)
	if not ok then
		return nil, "marshal error: " .. first_line(cmdn)
	end
	if mtype(cmdn) ~= "integer" then
		error(fname .. ": marshal must return an integer cmd first, got " ..
			(type(cmdn) == "string" and ("the string '" .. cmdn .. "'") or type(cmdn)), 3)
	end
	if type(data) ~= "string" and type(data) ~= "userdata" then
		error(fname .. ": marshal must return data as a string or lightuserdata and size, got " .. type(data), 3)
	end
	if type(cmd) == "string" then
		cmdnames[cmdn] = cmd
	end
	return cmdn, data, size
end

local function new(conf)
	if type(conf) ~= "table" then
		error("cluster.new: conf table expected, got " .. type(conf), 2)
	end
	for _, k in ipairs({"marshal", "unmarshal", "call", "close"}) do
		if type(conf[k]) ~= "function" then
			error("cluster.new: conf." .. k .. " must be a function, got " .. type(conf[k]), 2)
		end
	end
	if conf.accept ~= nil and type(conf.accept) ~= "function" then
		error("cluster.new: conf.accept must be a function, got " .. type(conf.accept), 2)
	end
	local timeout = conf.timeout or 5000
	if mtype(timeout) ~= "integer" or timeout <= 0 then
		error("cluster.new: conf.timeout must be a positive integer (ms)", 2)
	end

	local inst = {__event = conf, __fdaddr = {}}
	local route = router(inst)

	function inst.listen(addr, backlog)
		if type(addr) ~= "string" then
			error("cluster.listen: address string expected, got " .. type(addr), 2)
		end
		local fd, err = net._listen(addr, backlog or 128, nc.CLUSTER, route)
		if not fd then
			return nil, err
		end
		owner[fd] = inst
		listening[fd] = true
		inst.__fdaddr[fd] = addr
		live[inst] = true
		return fd
	end

	function inst.connect(addr)
		if type(addr) ~= "string" then
			error("cluster.connect: address string expected, got " .. type(addr), 2)
		end
		silly._checkblock("cluster.connect")
		local target, rerr = resolve(addr)
		if not target then
			return nil, rerr
		end
		local fd, err = net._connect("cluster.connect", target, nil, timeout, nc.CLUSTER, route)
		if not fd then
			return nil, err
		end
		owner[fd] = inst
		inst.__fdaddr[fd] = addr
		live[inst] = true
		return fd
	end

	local unmarshal = conf.unmarshal

	function inst.call(fd, cmd, obj)
		if mtype(fd) ~= "integer" then
			error("cluster.call: fd (integer) expected, got " .. type(fd), 2)
		end
		if owner[fd] ~= inst then
			return nil, "closed"
		end
		local co, trace = current()
		if not co then
			error("cluster.call: must be called inside a task (see silly.fork)", 2)
		end
		local cmdn, data, size = encode("cluster.call", inst, cmd, obj)
		if not cmdn then
			return nil, data
		end
		if trace == 0 then
			trace = ctracenew()
		end
		local session, err
		if size then
			session, err = crequest(fd, cmdn, trace, data, size, timeout)
		else
			session, err = crequest(fd, cmdn, trace, data, timeout)
		end
		if not session then
			return nil, err
		end
		waiting[session] = co
		-- Resumed at once when the response is read, with its payload.
		local ptr, psize, remote = park(co, "WAIT")
		if ptr == TIMEOUT then
			return nil, "timeout"
		elseif ptr == CLOSED then
			return nil, "closed"
		elseif remote then
			return nil, "remote " .. remote
		end
		local ok, body = pcall(unmarshal, "response", cmd, ptr, psize)
		if not ok then
			return nil, "unmarshal error: " .. first_line(body)
		end
		return body
	end

	function inst.send(fd, cmd, obj)
		check_fd("cluster.send", fd)
		if owner[fd] ~= inst then
			return nil, "closed"
		end
		local cmdn, data, size = encode("cluster.send", inst, cmd, obj)
		if not cmdn then
			return nil, data
		end
		return cc.send(fd, cmdn, tracenew(), data, size)
	end

	function inst.close(fd)
		if type(fd) == "string" then -- a listen address
			for id, addr in pairs(inst.__fdaddr) do
				if addr == fd and listening[id] and owner[id] == inst then
					fd = id
					break
				end
			end
			if type(fd) == "string" then
				return false, "closed"
			end
		end
		check_fd("cluster.close", fd)
		if owner[fd] ~= inst then
			return false, "closed"
		end
		drop_link(inst, fd, 0)
		return true, "connected"
	end

	-- Collected only once it has no sockets (see `live`); whatever is
	-- left then is closed.
	return setmetatable(inst, {__gc = function(self)
		for fd in pairs(self.__fdaddr) do
			if owner[fd] == self then
				owner[fd] = nil
				listening[fd] = nil
				net._forget(fd)
				nc.close(fd)
			end
		end
	end})
end

M.new = new

-- Pending calls and responses dropped as late or unknown.
function M.stats()
	local pending, dropped = cc.stats()
	return {pending = pending, dropped = dropped}
end

return M
