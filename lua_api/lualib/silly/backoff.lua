-- silly.backoff: how long things that reconnect (cluster peers, etcd
-- watches) wait between tries: from 100 ms, doubling to 5 s, each wait
-- with ±20 % jitter so that many nodes that lost one peer do not all try
-- again at the same moment.
local M = {}

M.MIN, M.MAX = 100, 5000

-- ms with ±20 % jitter.
function M.jitter(ms)
	return ms * (80 + math.random(0, 40)) // 100
end

-- The wait after `ms`.
function M.next(ms)
	return math.min(ms * 2, M.MAX)
end

return M
