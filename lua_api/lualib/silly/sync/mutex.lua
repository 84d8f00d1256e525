-- silly.sync.mutex: reentrant per-key locks between tasks.
--
-- Unlocking hands the lock straight to the first waiter, so a task that
-- locks between the unlock and the waiter's resumption waits its turn
-- instead of sharing the lock.
local silly = require "silly"

local M = {}
local mt = {__index = M}

local guard_mt = {}
guard_mt.__index = guard_mt

function guard_mt:unlock()
	if self.released then
		return
	end
	self.released = true
	local l = self.lock
	l.depth = l.depth - 1
	if l.depth > 0 then
		return
	end
	local nxt = table.remove(l.waiters, 1)
	if nxt then
		l.owner = nxt
		l.depth = 1
		silly._wake(nxt)
	else
		self.mutex.locks[self.key] = nil
	end
end
guard_mt.__close = guard_mt.unlock

function M.new()
	return setmetatable({locks = {}}, mt)
end

function M:lock(key)
	if key == nil then
		error("mutex.lock: key must not be nil", 2)
	end
	local co = silly.running()
	local l = self.locks[key]
	if not l then
		l = {owner = co, depth = 1, waiters = {}}
		self.locks[key] = l
	elseif l.owner == co then
		l.depth = l.depth + 1
	else
		silly._checkblock("mutex.lock")
		l.waiters[#l.waiters + 1] = co
		silly._suspend("mutex.lock", "WAIT")
	end
	return setmetatable({mutex = self, key = key, lock = l, released = false}, guard_mt)
end

return M
