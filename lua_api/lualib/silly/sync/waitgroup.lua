-- silly.sync.waitgroup: wait until every task forked through it has ended.
local silly = require "silly"
local logger = require "silly.logger"

local M = {}
local mt = {__index = M}

function M.new()
	return setmetatable({count = 0, waiter = nil}, mt)
end

function M:fork(fn)
	self.count = self.count + 1
	return silly.fork(function()
		local ok, err = silly.pcall(fn)
		if not ok then
			logger.error("[waitgroup] fork err:", err)
		end
		self.count = self.count - 1
		if self.count <= 0 then
			local co = self.waiter
			if co then
				self.waiter = nil
				silly._wake(co)
			end
		end
	end)
end

function M:wait()
	if self.count <= 0 then
		return
	end
	silly._checkblock("waitgroup.wait")
	self.waiter = silly.running()
	silly._suspend("waitgroup.wait", "WAIT")
end

return M
