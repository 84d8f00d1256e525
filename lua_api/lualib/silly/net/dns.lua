-- silly.net.dns: the hosts file first, then the resolv.conf nameserver
-- over UDP, for A, AAAA and SRV records.
--
-- A query never outlives its timeout argument: the attempts share it.
-- A refused or unreachable resolver, or a name it says does not exist,
-- fails at once instead of being retried.
local silly = require "silly"
local time = require "silly.time"
local env = require "silly.env"
local udp = require "silly.net.udp"

local spack, sunpack = string.pack, string.unpack
local sformat = string.format
local type = type
local error = error

local M = {A = 1, AAAA = 28, SRV = 33}

local CNAME = 5
local hosts = {} -- lower-case name -> {[1] = {ips}, [28] = {ips}}
local nameserver = nil
local cache = {} -- qtype .. name -> {records, expiry (monotonic ms)}
local next_qid = math.random(0, 0xffff)

local function looks_like_ip(s)
	return s:find("^[%d%.]+$") ~= nil or s:find(":", 1, true) ~= nil
end

function M.isname(s)
	return not looks_like_ip(s)
end

local function load_hosts(path)
	local f = io.open(path, "r")
	if not f then
		return
	end
	for line in f:lines() do
		line = line:gsub("#.*", "")
		local ip, rest = line:match("^%s*(%S+)%s+(.+)$")
		if ip then
			local qtype = ip:find(":", 1, true) and M.AAAA or M.A
			for name in rest:gmatch("%S+") do
				name = name:lower()
				local h = hosts[name]
				if not h then
					h = {}
					hosts[name] = h
				end
				local list = h[qtype]
				if not list then
					list = {}
					h[qtype] = list
				end
				list[#list + 1] = ip
			end
		end
	end
	f:close()
end

local function load_resolv(path)
	local f = io.open(path, "r")
	if not f then
		return
	end
	for line in f:lines() do
		local ip = line:match("^%s*nameserver%s+(%S+)")
		if ip then
			nameserver = ip:find(":", 1, true) and ("[" .. ip .. "]:53") or (ip .. ":53")
			break
		end
	end
	f:close()
end

load_hosts(env.get("sys.dns.hosts") or "/etc/hosts")
load_resolv(env.get("sys.dns.resolv_conf") or "/etc/resolv.conf")

function M.server(addr)
	if type(addr) ~= "string" then
		error("dns.server: 'ip:port' expected, got " .. type(addr), 2)
	end
	nameserver = addr
end

local function build_query(qid, name, qtype)
	local parts = {spack(">I2I2I2I2I2I2", qid, 0x0100, 1, 0, 0, 0)}
	for label in name:gmatch("[^%.]+") do
		parts[#parts + 1] = spack("s1", label)
	end
	parts[#parts + 1] = spack(">BI2I2", 0, qtype, 1)
	return table.concat(parts)
end

-- Reads a possibly compressed name at pos; returns name, next position.
local function read_name(msg, pos)
	local labels = {}
	local jumped, after = false, nil
	for _ = 1, 128 do
		local len = msg:byte(pos)
		if not len then
			return nil
		end
		if len == 0 then
			pos = pos + 1
			break
		elseif len >= 0xc0 then
			local b2 = msg:byte(pos + 1)
			if not b2 then
				return nil
			end
			if not jumped then
				after = pos + 2
				jumped = true
			end
			pos = ((len & 0x3f) << 8 | b2) + 1
		else
			labels[#labels + 1] = msg:sub(pos + 1, pos + len)
			pos = pos + 1 + len
		end
	end
	return table.concat(labels, "."), jumped and after or pos
end

local function format_aaaa(rdata)
	local g = {sunpack(">I2I2I2I2I2I2I2I2", rdata)}
	-- Eight groups of at least two hex digits, never compressed (as the
	-- original framework writes them).
	return sformat("%02x:%02x:%02x:%02x:%02x:%02x:%02x:%02x", g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8])
end

-- Returns answers {type=, name=, ttl=, value=}, rcode; nil on a bad reply.
local function parse_reply(msg, qid)
	if #msg < 12 then
		return nil
	end
	local id, flags, qd, an = sunpack(">I2I2I2I2", msg)
	if id ~= qid or flags & 0x8000 == 0 then
		return nil
	end
	local rcode = flags & 0xf
	local pos = 13
	for _ = 1, qd do
		local _, p = read_name(msg, pos)
		if not p then
			return nil
		end
		pos = p + 4
	end
	local answers = {}
	for _ = 1, an do
		local name, p = read_name(msg, pos)
		if not name or p + 10 > #msg + 1 then
			return nil
		end
		local typ, _, ttl, rdlen = sunpack(">I2I2I4I2", msg, p)
		local rstart = p + 10
		local rdata = msg:sub(rstart, rstart + rdlen - 1)
		if #rdata ~= rdlen then
			return nil
		end
		local value
		if typ == M.A and rdlen == 4 then
			value = sformat("%d.%d.%d.%d", rdata:byte(1, 4))
		elseif typ == M.AAAA and rdlen == 16 then
			value = format_aaaa(rdata)
		elseif typ == CNAME then
			value = read_name(msg, rstart)
		elseif typ == M.SRV and rdlen >= 7 then
			local prio, weight, port = sunpack(">I2I2I2", rdata)
			value = {priority = prio, weight = weight, port = port, target = read_name(msg, rstart + 6)}
		end
		answers[#answers + 1] = {type = typ, name = name:lower(), ttl = ttl, value = value}
		pos = rstart + rdlen
	end
	return answers, rcode
end

-- One exchange with the nameserver within `budget` ms.
local function exchange(name, qtype, budget)
	local fd, err = udp.connect(nameserver)
	if not fd then
		return nil, err
	end
	next_qid = (next_qid + 1) & 0xffff
	local qid = next_qid
	local ok, serr = udp.send(fd, build_query(qid, name, qtype))
	if not ok then
		udp.close(fd)
		return nil, serr
	end
	local expired = false
	local timer = time.after(budget, function()
		expired = true
		udp.close(fd)
	end)
	while true do
		local msg, rerr = udp.recvfrom(fd)
		if not msg then
			if expired then
				return nil, "timeout"
			end
			time.cancel(timer)
			udp.close(fd)
			return nil, rerr
		end
		local answers, rcode = parse_reply(msg, qid)
		if answers then
			time.cancel(timer)
			udp.close(fd)
			return answers, rcode
		end
		-- Not our reply (a stale or forged id): keep listening.
	end
end

local function query(name, qtype, timeout)
	if not nameserver then
		return nil, "no nameserver configured"
	end
	local deadline = time.monotonic() + timeout
	local attempts = 3
	local err = "timeout"
	for i = 1, attempts do
		local left = deadline - time.monotonic()
		if left <= 0 then
			break
		end
		-- Later attempts get what is left; the first ones a fair share.
		local budget = i < attempts and (left // (attempts - i + 1)) or left
		if budget < 1 then
			budget = 1
		end
		local answers, rcode = exchange(name, qtype, budget)
		if answers then
			if rcode == 3 then
				return nil, "name not found"
			elseif rcode ~= 0 then
				return nil, "server failure (rcode " .. rcode .. ")"
			end
			return answers
		end
		err = rcode
		if err ~= "timeout" then
			return nil, err -- refused or unreachable: retrying will not help
		end
	end
	return nil, err
end

local function resolve(name, qtype, timeout, depth)
	local key = qtype .. name
	local hit = cache[key]
	if hit and hit[2] > time.monotonic() then
		return hit[1]
	end
	local answers, err = query(name, qtype, timeout)
	if not answers then
		return nil, err
	end
	local records, cname, ttl = {}, nil, nil
	for _, a in ipairs(answers) do
		if a.type == qtype and a.value then
			records[#records + 1] = a.value
			ttl = ttl and math.min(ttl, a.ttl) or a.ttl
		elseif a.type == CNAME and a.value then
			cname = a.value
		end
	end
	if #records == 0 then
		if cname and depth < 8 then
			return resolve(cname, qtype, timeout, depth + 1)
		end
		return nil, "no " .. (qtype == M.A and "A" or qtype == M.AAAA and "AAAA" or "SRV") .. " record"
	end
	cache[key] = {records, time.monotonic() + (ttl or 0) * 1000}
	return records
end

local function check_args(fname, name, qtype, timeout)
	if type(name) ~= "string" then
		error(fname .. ": name string expected, got " .. type(name), 3)
	end
	if qtype ~= M.A and qtype ~= M.AAAA and qtype ~= M.SRV then
		error(fname .. ": qtype must be dns.A, dns.AAAA or dns.SRV", 3)
	end
	if timeout ~= nil and math.type(timeout) ~= "integer" then
		error(fname .. ": integer timeout (ms) expected", 3)
	end
end

function M.resolve(name, qtype, timeout)
	check_args("dns.resolve", name, qtype, timeout)
	if looks_like_ip(name) then
		return {name}
	end
	local h = hosts[name:lower()]
	if h and h[qtype] then
		return h[qtype]
	end
	silly._checkblock("dns.resolve")
	return resolve(name:lower(), qtype, timeout or 5000, 0)
end

function M.lookup(name, qtype, timeout)
	check_args("dns.lookup", name, qtype, timeout)
	if looks_like_ip(name) then
		return name
	end
	local list, err = M.resolve(name, qtype, timeout)
	if not list then
		return nil, err
	end
	return list[1]
end

return M
