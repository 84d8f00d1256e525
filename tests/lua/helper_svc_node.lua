-- Helper process: a cluster node that registers itself as a member of
-- `--service` in etcd (`--etcd=host:port`, lease of `--ttl` s) and answers
-- every call with its own address. SIGTERM revokes its lease and exits.
-- Prints "ready <addr>" once registered.
local silly = require "silly"
local env = require "silly.env"
local tcp = require "silly.net.tcp"
local signal = require "silly.signal"
local cluster = require "silly.net.cluster"
local etcd = require "silly.store.etcd"
local discovery = require "silly.net.cluster.discovery"

local addr
local node = cluster.new {
	marshal = function(_, cmd, body) return cmd, body end,
	unmarshal = function(_, _, p, n) return silly.tostring(p, n) end,
	call = function(body)
		return addr .. " " .. body
	end,
	close = function() end,
}
local fd = assert(node.listen("127.0.0.1:" .. (env.get("port") or 0)))
addr = tcp.sockname(fd)
local reg = discovery.new {
	etcd = etcd.new {endpoints = {env.get("etcd")}},
	prefix = env.get("prefix") or "/silly/",
	ttl = tonumber(env.get("ttl") or 10) // 1,
}
signal("SIGTERM", function()
	reg:close()
	silly.exit(0)
end)
assert(reg:register(env.get("service") or "battle", addr, {pid = silly.pid}))
print("ready " .. addr)
io.stdout:flush()
