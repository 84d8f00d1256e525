---@meta silly.net.udp
-- Reference: docs/reference/silly.net.udp.md.

---@class silly.net.udp
local udp = {}

---@param addr string
---@return integer? fd
---@return string? err
function udp.bind(addr) end

---@param addr string
---@return integer? fd
---@return string? err
function udp.connect(addr) end

---@param fd integer
---@param data string
---@param addr string
---@return boolean ok
---@return string? err
function udp.sendto(fd, data, addr) end

---@param fd integer
---@param data string
---@return boolean ok
---@return string? err
function udp.send(fd, data) end

---@async
---@param fd integer
---@return string? data
---@return string? addr_or_err the sender's "ip:port", or why
function udp.recvfrom(fd) end

---@param fd integer
---@return boolean ok
---@return string? err
function udp.close(fd) end

return udp
