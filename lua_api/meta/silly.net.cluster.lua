---@meta silly.net.cluster
-- docs/silly.net.cluster.en.md (the contract) and its "Beyond the
-- document" part (silly's options, peers, errors).

---@class silly.net.cluster.conf
---@field marshal fun(typ: "request"|"response", cmd: string|integer, body: any): integer, (string|lightuserdata), integer?
---@field unmarshal fun(typ: "request"|"response", cmd: string|integer, buf: lightuserdata, size: integer): any
---@field call fun(body: any, cmd: string|integer, fd: integer): any
---@field close fun(fd: integer, errno: integer)
---@field accept? fun(fd: integer, addr: string)
---@field timeout? integer ms, 5000 by default
---@field heartbeat? integer ms
---@field keepalive? integer ms
---@field maxpayload? integer bytes
---@field secret? string
---@field tls? {cert?: string, key?: string, ca?: string, verify?: boolean, servername?: string}
---@field frame_timeout? integer ms, 30000 by default, 0: off
---@field deadline? boolean

---@class silly.net.cluster.instance
local instance = {}

---@param addr string
---@param backlog? integer
---@return integer? fd
---@return string? err
function instance.listen(addr, backlog) end

---@async
---@param addr string
---@return integer? fd
---@return string? err
function instance.connect(addr) end

---@async
---@param fd integer|table a link, or a peer or service handle
---@param cmd string|integer
---@param obj any
---@param timeout_ms? integer
---@return any? response
---@return string? err "timeout", "closed", "unreachable: ...", "payload too large: ...", "marshal error: ...", "unmarshal error: ...", "remote handler error: ..."
function instance.call(fd, cmd, obj, timeout_ms) end

---@param fd integer|table
---@param cmd string|integer
---@param obj any
---@return boolean? ok
---@return string? err
function instance.send(fd, cmd, obj) end

---@param fd integer|string
---@return boolean ok
---@return string status "connected" or "closed"
function instance.close(fd) end

---A handle that connects (and reconnects) to addr on demand.
---@param addr string "ip:port", or "svc://name" with opts.registry
---@param opts? table
---@return table peer
function instance.peer(addr, opts) end

---Reads the tls files again for new links.
---@return boolean? ok
---@return string? err
function instance.reload_tls() end

---@class silly.net.cluster
local cluster = {}

---@param conf silly.net.cluster.conf
---@return silly.net.cluster.instance
function cluster.new(conf) end

---Inside a handler: ms left before the caller gives up, or nil.
---@return integer?
function cluster.deadline() end

---@return table stats per link and in total
function cluster.stats() end

return cluster
