-- silly.sync.channel: an unbounded FIFO between tasks, one popper at a time.
local silly = require "silly"

local M = {}
local mt = {__index = M}

function M.new()
	return setmetatable({q = {}, head = 1, tail = 0, closed = false, popper = nil}, mt)
end

function M:push(v)
	if v == nil or v == false then
		return false, "nil data"
	end
	if self.closed then
		return false, "channel closed"
	end
	local co = self.popper
	if co then
		self.popper = nil
		silly._wake(co, v)
		return true
	end
	local t = self.tail + 1
	self.tail = t
	self.q[t] = v
	return true
end

function M:pop()
	local h = self.head
	if h <= self.tail then
		local v = self.q[h]
		self.q[h] = nil
		self.head = h + 1
		if self.head > self.tail then
			self.head, self.tail = 1, 0
		end
		return v, nil
	end
	if self.closed then
		return nil, "channel closed"
	end
	if self.popper then
		error("channel.pop: another task is already waiting on this channel", 2)
	end
	silly._checkblock("channel.pop")
	self.popper = silly.running()
	local v = silly._suspend("channel.pop", "WAIT")
	if v == nil then
		return nil, "channel closed"
	end
	return v, nil
end

function M:clear()
	self.q = {}
	self.head, self.tail = 1, 0
end

function M:close()
	self.closed = true
	local co = self.popper
	if co then
		self.popper = nil
		silly._wake(co, nil)
	end
end

return M
