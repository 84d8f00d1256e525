---@meta silly.net.dns
-- Reference: docs/reference/silly.net.dns.md.

---@class silly.net.dns
---@field A integer
---@field AAAA integer
---@field SRV integer
local dns = {}

---@async
---@param name string
---@param qtype integer dns.A, dns.AAAA or dns.SRV
---@param timeout_ms? integer 5000 by default
---@return (string|{priority: integer, weight: integer, port: integer, target: string})[]? records
---@return string? err
function dns.resolve(name, qtype, timeout_ms) end

---@async
---@param name string
---@param qtype integer
---@param timeout_ms? integer
---@return (string|table)? record
---@return string? err
function dns.lookup(name, qtype, timeout_ms) end

---@param addr string "ip:port" of the nameserver to ask from now on
function dns.server(addr) end

---@param s string
---@return boolean
function dns.isname(s) end

return dns
