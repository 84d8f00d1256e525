-- silly.metrics.http: GET /metrics over silly.net.tcp.
--
-- Small but careful: a request line and headers of at most 8 KiB (431
-- past it), a read timeout (closed without an answer), 400 for what is not
-- HTTP/1.x, 404 for other paths, 405 for other methods; each connection is
-- its own task, answered and closed, so many scrapes run at once and a
-- scraper that leaves mid-response costs only its own write.
local time = require "silly.time"
local tcp = require "silly.net.tcp"
local logger = require "silly.logger"
local metrics = require "silly.metrics"

local M = {}

local MAX_REQUEST = 8192
local DEFAULT_TIMEOUT = 5000

local REASONS = {
	[200] = "OK", [400] = "Bad Request", [404] = "Not Found", [405] = "Method Not Allowed",
	[431] = "Request Header Fields Too Large",
}

local function respond(fd, status, body, extra, head_only)
	local h = {
		"HTTP/1.1 " .. status .. " " .. REASONS[status],
		"Content-Type: " .. (status == 200 and metrics.CONTENT_TYPE or "text/plain; charset=utf-8"),
		"Content-Length: " .. #body,
		"Connection: close",
	}
	if extra then
		h[#h + 1] = extra
	end
	h[#h + 1] = ""
	h[#h + 1] = head_only and "" or body
	tcp.write(fd, table.concat(h, "\r\n"))
end

-- The request head (through the blank line), or nil when the peer left,
-- stalled past the timeout, or sent more than MAX_REQUEST without one.
local function read_head(fd)
	local buf = ""
	while true do
		local stop = buf:find("\r\n\r\n", 1, true)
		if stop then
			return buf:sub(1, stop + 3)
		end
		if #buf >= MAX_REQUEST then
			return nil, 431
		end
		-- Wait for a byte, then take what came with it: the socket's limit
		-- keeps at most MAX_REQUEST unread, whatever the peer sends.
		local first = tcp.read(fd, 1)
		if not first then
			return nil
		end
		buf = buf .. first .. tcp.readall(fd, MAX_REQUEST - #buf)
	end
end

local function serve_one(fd, timeout)
	tcp.limit(fd, MAX_REQUEST)
	local expired = false
	local timer = time.after(timeout, function()
		expired = true
		tcp.close(fd) -- wakes the reader
	end)
	local head, status = read_head(fd)
	if expired then
		return
	end
	time.cancel(timer)
	if not head then
		if status then
			respond(fd, status, "request head too large\n")
		end
		tcp.close(fd)
		return
	end
	local method, target = head:match("^(%u+) (%S+) HTTP/1%.[01]\r\n")
	if not method then
		respond(fd, 400, "not an HTTP/1.x request\n")
	elseif target:match("^[^?#]*") ~= "/metrics" then
		respond(fd, 404, "only /metrics here\n")
	elseif method ~= "GET" and method ~= "HEAD" then
		respond(fd, 405, "GET or HEAD\n", "Allow: GET, HEAD")
	else
		respond(fd, 200, metrics.text(), nil, method == "HEAD")
	end
	tcp.close(fd)
end

-- serve(addr [, {timeout = ms}]) -> listener fd | nil, err. Turns the
-- built-in collectors on (silly.metrics.collectors).
function M.serve(addr, opts)
	if type(addr) ~= "string" then
		error("metrics.serve: address string expected, got " .. type(addr), 3)
	end
	opts = opts or {}
	local timeout = opts.timeout or DEFAULT_TIMEOUT
	if math.type(timeout) ~= "integer" or timeout <= 0 then
		error("metrics.serve: timeout must be a positive integer (ms)", 3)
	end
	require("silly.metrics.collectors").enable()
	local fd, err = tcp.listen(addr, function(cfd)
		serve_one(cfd, timeout)
	end)
	if fd then
		logger.info("[metrics] serving http://" .. tcp.sockname(fd) .. "/metrics")
	end
	return fd, err
end

return M
