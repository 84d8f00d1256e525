-- silly.store.etcd.response: reads one HTTP/1.1 response from bytes fed in
-- pieces as they arrive: the status line and headers, then the body
-- (Content-Length, chunked, or up to the end of the stream), handed on
-- piece by piece. It does no I/O and requires nothing, so the fuzz target
-- runs it as it is. Bad input is `nil, reason`, never an error raised.
local find, sub, match, lower, tonumber = string.find, string.sub, string.match, string.lower, tonumber

local M = {}

local MAX_HEAD = 16 * 1024 -- status line and headers
local MAX_SIZE_LINE = 1024 -- a chunk's size line, extensions included

local reader = {}
reader.__index = reader

-- on_body(piece, status) gets the body as it comes; it returns true, or nil and a
-- reason to stop reading.
function M.new(on_body)
	return setmetatable({
		buf = "",
		state = "head", -- head, length, chunk_size, chunk_data, chunk_end, trailer, eof, done
		left = 0, -- bytes of the body (length) or of the chunk (chunk_data) to come
		status = nil,
		headers = nil,
		on_body = on_body,
	}, reader)
end

local function parse_head(r, head)
	local version, code = match(head, "^HTTP/1%.([01]) (%d%d%d)[^\r\n]*\r\n")
	if not version then
		return nil, "not an HTTP/1.x status line"
	end
	local headers = {}
	local pos = find(head, "\r\n", 1, true) + 2
	while pos <= #head do
		local e = find(head, "\r\n", pos, true)
		local line = sub(head, pos, e - 1)
		local name, value = match(line, "^([!#$%%&'*+%-.^_`|~%w]+):[ \t]*(.-)[ \t]*$")
		if not name then
			return nil, "malformed header line"
		end
		name = lower(name)
		if headers[name] and name ~= "set-cookie" then
			headers[name] = headers[name] .. ", " .. value
		else
			headers[name] = value
		end
		pos = e + 2
	end
	r.status, r.headers = tonumber(code), headers
	local te = headers["transfer-encoding"]
	local cl = headers["content-length"]
	if te then
		if lower(te) ~= "chunked" then
			return nil, "unsupported transfer-encoding '" .. te .. "'"
		end
		r.state = "chunk_size"
	elseif cl then
		local n = match(cl, "^%d+$") and tonumber(cl)
		if not n or n > 2 ^ 53 then
			return nil, "bad content-length '" .. cl .. "'"
		end
		r.left = n
		r.state = n > 0 and "length" or "done"
	elseif r.status == 204 or r.status == 304 or r.status < 200 then
		r.state = "done"
	else
		r.state = "eof" -- the body ends with the stream
	end
	return true
end

local function emit(r, piece)
	if piece == "" then
		return true
	end
	return r.on_body(piece, r.status)
end

-- Where the CRLF ends the line that starts buf, a line of at most `max`
-- bytes before it: its index; false while more bytes may still end it in
-- time; nil once the line is too long (more than the line and a CR).
local function line_end(buf, max)
	local e = find(buf, "\r\n", 1, true)
	if e then
		return e - 1 <= max and e or nil
	end
	if #buf <= max + 1 then
		return false
	end
	return nil
end

-- One step of the state machine over r.buf; true when it made progress,
-- false when it needs more bytes, or nil and a reason.
local function step(r)
	local buf, state = r.buf, r.state
	if state == "head" then
		local e = find(buf, "\r\n\r\n", 1, true)
		if not e then
			if #buf > MAX_HEAD then
				return nil, "response head over " .. MAX_HEAD .. " bytes"
			end
			return false
		end
		if e + 3 > MAX_HEAD then
			return nil, "response head over " .. MAX_HEAD .. " bytes"
		end
		r.buf = sub(buf, e + 4)
		return parse_head(r, sub(buf, 1, e + 1))
	elseif state == "length" or state == "chunk_data" then
		if buf == "" then
			return false
		end
		local n = r.left
		local piece = #buf <= n and buf or sub(buf, 1, n)
		r.buf = sub(buf, #piece + 1)
		r.left = n - #piece
		if r.left == 0 then
			r.state = state == "length" and "done" or "chunk_end"
		end
		return emit(r, piece)
	elseif state == "eof" then
		if buf == "" then
			return false
		end
		r.buf = ""
		return emit(r, buf)
	elseif state == "chunk_size" then
		local e = line_end(buf, MAX_SIZE_LINE)
		if e == nil then
			return nil, "chunk size line over " .. MAX_SIZE_LINE .. " bytes"
		elseif not e then
			return false
		end
		local hex = match(sub(buf, 1, e - 1), "^(%x+)[ \t]*;?[^\r\n]*$")
		if not hex or #hex > 13 then
			return nil, "bad chunk size"
		end
		r.buf = sub(buf, e + 2)
		r.left = tonumber(hex, 16)
		r.state = r.left > 0 and "chunk_data" or "trailer"
		return true
	elseif state == "chunk_end" then
		if #buf < 2 then
			return false
		end
		if sub(buf, 1, 2) ~= "\r\n" then
			return nil, "chunk not followed by CRLF"
		end
		r.buf = sub(buf, 3)
		r.state = "chunk_size"
		return true
	elseif state == "trailer" then
		local e = line_end(buf, MAX_HEAD)
		if e == nil then
			return nil, "trailer over " .. MAX_HEAD .. " bytes"
		elseif not e then
			return false
		end
		r.buf = sub(buf, e + 2)
		if e == 1 then
			r.state = "done"
		end
		return true
	end
	return false -- done: whatever follows belongs to no response
end

-- Takes the next bytes; true (see r:done()), or nil and what is wrong.
function reader:feed(s)
	if s ~= "" then
		self.buf = self.buf .. s
	end
	while true do
		local ok, err = step(self)
		if ok == nil then
			self.state = "error"
			return nil, err
		elseif not ok then
			return true
		end
	end
end

-- The stream ended: true when that completes the response, or nil and a
-- reason.
function reader:finish()
	local state = self.state
	if state == "done" or state == "eof" then
		self.state = "done"
		return true
	elseif state == "head" then
		return nil, self.buf == "" and "connection closed before a response" or "response head cut short"
	end
	return nil, "response body cut short"
end

function reader:done()
	return self.state == "done"
end

-- Bytes read past the end of the response (a server that pipelines).
function reader:extra()
	return self.buf
end

return M
