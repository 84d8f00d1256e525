-- The demo's cluster codec: zproto, with each request's reply struct.
local zproto = require "zproto"

local dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local proto = assert(zproto:load(dir .. "/game.zproto"))
local reply = {match = "match_result", save = "saved", shutdown = "shutdown"}

local M = {}

local function name_of(cmd)
	return type(cmd) == "string" and cmd or proto:tag(cmd)
end

function M.marshal(typ, cmd, body)
	local name = name_of(cmd)
	if typ == "response" then
		name = reply[name]
	end
	local dat, sz = proto:encode(name, body, true)
	local buf, size = proto:pack(dat, sz, true)
	return proto:tag(name_of(cmd)), buf, size
end

function M.unmarshal(typ, cmd, buf, size)
	local name = name_of(cmd)
	if typ == "response" then
		name = reply[name]
	end
	local dat, sz = proto:unpack(buf, size, true)
	return proto:decode(name, dat, sz)
end

M.name_of = name_of
return M
