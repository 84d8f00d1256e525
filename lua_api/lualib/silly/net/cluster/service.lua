-- silly.net.cluster.service: what inst.peer("svc://name", {registry = reg})
-- returns. It follows the service's members through the registry and holds
-- one reconnecting peer (silly.net.cluster.peer) per member; a call goes to
-- a member chosen round robin, or, when the handle has a `key` function,
-- by consistent hashing of the call's key, so that one player's calls reach
-- one member while it lives. Members whose link is down are passed over
-- while another is up; a member that leaves is passed over at once and its
-- link is closed after `grace` ms, time for the calls it still owes.
local silly = require "silly"
local time = require "silly.time"
local peers = require "silly.net.cluster.peer"

local byte, tostring = string.byte, tostring

local M = {}

local VNODES = 100 -- points per member on the hash ring

local mt = {
	__name = "cluster.service",
	__tostring = function(s)
		return "cluster.service(svc://" .. s.name .. ")"
	end,
}
mt.__index = {}

function M.is(v)
	return getmetatable(v) == mt
end

-- 64-bit FNV-1a, then MurmurHash3's finalizer to spread similar keys.
local function hash(s)
	local h = 0xcbf29ce484222325
	for i = 1, #s do
		h = (h ~ byte(s, i)) * 0x100000001b3
	end
	h = (h ~ (h >> 33)) * 0xff51afd7ed558ccd
	h = (h ~ (h >> 33)) * 0xc4ceb9fe1a85ec53
	return h ~ (h >> 33)
end
M.hash = hash

-- A member's points on the ring, computed once while it is known.
local function points_of(s, addr)
	local pts = s.points[addr]
	if not pts then
		pts = {}
		for i = 1, VNODES do
			pts[i] = hash(addr .. "#" .. i)
		end
		s.points[addr] = pts
	end
	return pts
end

-- The ring: its points in order and the member of each; built on the
-- first keyed pick after a change of membership (a round-robin handle
-- never builds one). Two members on one point (a 64-bit collision): the
-- smaller address keeps it.
local function ring(s)
	if s.ring_h then
		return s.ring_h, s.ring_a
	end
	local ring_h, owner = {}, {}
	for _, addr in ipairs(s.list) do
		for _, h in ipairs(points_of(s, addr)) do
			local o = owner[h]
			if not o then
				ring_h[#ring_h + 1] = h
				owner[h] = addr
			elseif addr < o then
				owner[h] = addr
			end
		end
	end
	table.sort(ring_h)
	local ring_a = {}
	for i, h in ipairs(ring_h) do
		ring_a[i] = owner[h]
	end
	s.ring_h, s.ring_a = ring_h, ring_a
	return ring_h, ring_a
end

local function set_list(s)
	local list = {}
	for addr in pairs(s.live) do
		list[#list + 1] = addr
	end
	table.sort(list)
	s.list = list
	s.ring_h, s.ring_a = nil, nil -- built again when a key needs it
end

local function on_change(s, what, m)
	local addr = m.addr
	if what == "join" then
		local h = s.handles[addr]
		if not h then
			h = s.make_peer(addr)
			s.handles[addr] = h
		end
		local closing = s.closing[addr]
		if closing then -- it came back within its grace
			time.cancel(closing)
			s.closing[addr] = nil
		end
		s.live[addr] = true
		set_list(s)
		peers.current(h, s.close) -- connect now: the first call finds a link
		peers.wake_all(s, true)
	elseif what == "leave" then
		if not s.live[addr] then
			return
		end
		s.live[addr] = nil
		set_list(s)
		s.closing[addr] = time.after(s.grace, function()
			s.closing[addr] = nil
			local h = s.handles[addr]
			if h and not s.live[addr] then
				s.handles[addr] = nil
				s.points[addr] = nil
				s.close(h)
			end
		end)
	end
end

-- make_peer(addr) makes a member's peer handle; close(h) ends one, and
-- close(fd) closes a stray link (as peer.lua wants it): the instance's
-- close does both.
function M.new(name, reg, key, grace, make_peer, close)
	local s = setmetatable({
		name = name,
		reg = reg,
		key = key,
		grace = grace,
		make_peer = make_peer,
		close = close,
		handles = {}, -- addr -> peer handle, members and those in their grace
		live = {}, -- addr -> true for the members
		list = {}, -- the members' addresses, sorted
		rr = 0,
		points = {}, -- addr -> its points on the ring (points_of)
		ring_h = nil, -- the ring, once a key needed it (ring)
		ring_a = nil,
		closing = {}, -- addr -> timer of a leaver's close
		waiters = {}, -- task -> timer, calls waiting for a first member
		closed = false,
	}, mt)
	s.unwatch = reg:watch(name, function(what, m)
		if not s.closed then
			on_change(s, what, m)
		end
	end)
	return s
end

local function up(h)
	return not h.down
end

-- The member for `key` (round robin when nil): a peer handle, or nil when
-- the service has no member.
local function pick(s, key)
	local list = s.list
	local n = #list
	if n == 0 then
		return nil
	end
	local handles = s.handles
	if key == nil then
		local rr = s.rr
		for _ = 1, n do
			rr = rr % n + 1
			local h = handles[list[rr]]
			if up(h) then
				s.rr = rr
				return h
			end
		end
		s.rr = rr % n + 1
		return handles[list[s.rr]]
	end
	local ring_h, ring_a = ring(s)
	local points = #ring_h
	local x = hash(tostring(key))
	local lo, hi = 1, points + 1 -- the first point >= x, or wrap to 1
	while lo < hi do
		local mid = (lo + hi) // 2
		if ring_h[mid] < x then
			lo = mid + 1
		else
			hi = mid
		end
	end
	local first = lo > points and 1 or lo
	local i = first
	repeat
		local h = handles[ring_a[i]]
		if up(h) then
			return h
		end
		i = i % points + 1
	until i == first
	return handles[ring_a[first]]
end

-- The member a call of (cmd, obj) goes to, waiting up to ms for a first
-- member: the peer handle and the ms left, or nil and why.
function M.choose(s, ms, fname, cmd, obj)
	if s.closed then
		return nil, "closed"
	end
	local key
	if s.key then
		key = s.key(cmd, obj)
	end
	local h = pick(s, key)
	if h then
		return h, ms
	end
	silly._checkblock(fname)
	local found, left = peers.await(s, ms, fname, false)
	if not found or s.closed then
		return nil, s.closed and "closed" or "no member of svc://" .. s.name
	end
	h = pick(s, key)
	if not h then
		return nil, "no member of svc://" .. s.name
	end
	return h, left
end

-- The member now, never waiting (for send).
function M.current(s, cmd, obj)
	if s.closed then
		return nil
	end
	return pick(s, s.key and s.key(cmd, obj))
end

function M.close(s)
	if s.closed then
		return
	end
	s.closed = true
	s.unwatch()
	peers.wake_all(s, false)
	for addr, timer in pairs(s.closing) do
		time.cancel(timer)
		s.closing[addr] = nil
	end
	for addr, h in pairs(s.handles) do
		s.handles[addr] = nil
		s.close(h)
	end
	s.live, s.list = {}, {}
end

-- Methods for scripts: svc:pick(key) is the member's peer handle for key
-- (round robin without one), svc:member(addr) the handle of the member at
-- addr, svc:members() their addresses.
function mt.__index:pick(key)
	return pick(self, key)
end

function mt.__index:member(addr)
	return self.live[addr] and self.handles[addr] or nil
end

function mt.__index:members()
	return table.move(self.list, 1, #self.list, 1, {})
end

return M
