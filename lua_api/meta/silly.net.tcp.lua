---@meta silly.net.tcp
-- Reference: docs/reference/silly.net.tcp.md.

---@class silly.net.tcp
local tcp = {}

---@param addr string "ip:port"
---@param handler fun(fd: integer, peer: string)
---@param backlog? integer
---@return integer? id
---@return string? err
function tcp.listen(addr, handler, backlog) end

---@async
---@param addr string "ip:port" or "name:port"
---@param bind? string
---@param timeout_ms? integer
---@return integer? fd
---@return string? err
function tcp.connect(addr, bind, timeout_ms) end

---@async
---@param fd integer
---@param n integer
---@return string? data exactly n bytes
---@return string? err
function tcp.read(fd, n) end

---@async
---@param fd integer
---@param delim? string "\n" by default
---@return string? line with its delimiter
---@return string? err
function tcp.readline(fd, delim) end

---@param fd integer
---@param max? integer
---@return string? data what is buffered now
---@return string? err
function tcp.readall(fd, max) end
---Waits for at least one byte; returns up to max (all buffered if nil).
---@param fd integer
---@param max? integer
---@return string? data
---@return string? err
function tcp.readsome(fd, max) end

---@param fd integer
---@param data string|string[]|lightuserdata
---@param size? integer with a lightuserdata
---@return boolean ok
---@return string? err
function tcp.write(fd, data, size) end

---@param fd integer
---@return boolean ok
---@return string? err
function tcp.close(fd) end

---@param fd integer
---@return string? addr "ip:port"
function tcp.sockname(fd) end

---@param fd integer
---@return boolean? alive
function tcp.isalive(fd) end

---Reading pauses while this many bytes wait unread.
---@param fd integer
---@param bytes integer
---@return integer|false previous
function tcp.limit(fd, bytes) end

---@param fd integer
---@return integer
function tcp.recvsize(fd) end

---@param fd integer
---@return integer
function tcp.sendsize(fd) end

---Writes that would queue more than bytes fail.
---@param fd integer
---@param bytes integer
---@return integer previous
function tcp.sendlimit(fd, bytes) end

return tcp
