-- The Lua Language Server annotations (lua_api/meta) declare every public
-- function of every public module: a function added without its
-- annotation fails here.
local T = require "testaux"

local dir = T.dir .. "/../../lua_api/meta/"
local text = {}
for _, f in ipairs({"silly", "silly.time", "silly.net.tcp", "silly.net.udp", "silly.net.dns", "silly.net.tls",
	"silly.net.cluster", "silly.misc", "silly.batteries"}) do
	local h = assert(io.open(dir .. f .. ".lua"))
	text[#text + 1] = h:read("a")
	h:close()
end
text = table.concat(text, "\n")

-- module -> the name its functions have in the annotations
local modules = {
	["silly"] = "silly", ["silly.time"] = "time", ["silly.net.tcp"] = "tcp", ["silly.net.udp"] = "udp",
	["silly.net.dns"] = "dns", ["silly.net.tls"] = "tls", ["silly.net.cluster"] = "cluster",
	["silly.env"] = "env", ["silly.logger"] = "logger", ["silly.sync.waitgroup"] = "waitgroup",
	["silly.sync.mutex"] = "mutex", ["silly.sync.channel"] = "channel", ["silly.backoff"] = "backoff",
	["silly.encoding.base64"] = "base64", ["silly.store.etcd"] = "etcd",
	["silly.encoding.json"] = "json", ["silly.hive"] = "hive", ["silly.crypto.hash"] = "hash",
	["silly.crypto.hmac"] = "hmac", ["silly.crypto.cipher"] = "cipher", ["silly.crypto.pkey"] = "pkey",
	["silly.crypto.utils"] = "utils", ["silly.security.jwt"] = "jwt", ["silly.compress.gzip"] = "gzip",
	["silly.net.http"] = "http", ["silly.net.websocket"] = "websocket", ["silly.store.redis"] = "redis",
	["silly.store.mysql"] = "mysql", ["silly.patch"] = "patch",
}
-- Functions a module takes from another, annotated as `alias.name = ...`.
local inherited = {tls = {"read", "readline", "readall", "readsome", "write", "limit", "recvsize", "sendsize", "isalive",
	"sockname"}}

T.run(function()
	local checked = 0
	for mod, alias in pairs(modules) do
		local m = require(mod)
		local skip = {}
		for _, n in ipairs(inherited[alias] or {}) do
			skip[n] = true
		end
		for name, v in pairs(m) do
			if type(v) == "function" and not name:find("^_") then
				local declared = text:find("function " .. alias .. "[.:]" .. name .. "%(") or
					skip[name] and text:find(alias .. "." .. name .. " = ", 1, true)
				T.ok(declared, mod .. "." .. name .. " is annotated")
				checked = checked + 1
			end
		end
	end
	T.ge(checked, 80, "functions checked")
	-- A method table's functions too: the cluster instance and etcd's client.
	for _, name in ipairs({"listen", "connect", "call", "send", "close", "peer", "reload_tls"}) do
		T.ok(text:find("function instance%." .. name .. "%("), "cluster instance." .. name)
	end
end)
