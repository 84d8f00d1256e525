---@meta silly.net.tls
-- TLS streams with silly.net.tcp's shape; the README's TLS section and
-- docs/compatibility.md (the original framework's forms).

---@class silly.net.tls.options
---@field cert? string PEM file of the certificate chain
---@field key? string PEM file of its key
---@field ca? string PEM file of trust anchors (a server with one asks for client certificates)
---@field verify? boolean check the peer (true by default)
---@field servername? string SNI, and the name the server's certificate must carry
---@field handshake? integer ms, 5000 by default
---@field certs? {cert: string, key: string}[] PEM text instead of files
---@field ciphers? string OpenSSL cipher list for TLS 1.2
---@field alpn? string[] protocols offered, or accepted in order of preference
---@field bind? string connect only
---@field timeout? integer connect only, ms

---@class silly.net.tls.context
local context = {}
---Reads the files again for new streams.
---@return boolean? ok
---@return string? err
function context:reload() end

local tcp = require "silly.net.tcp"

---@class silly.net.tls
local tls = {}

---@param addr string|{addr: string, certs: {cert: string, key: string}[], ciphers?: string, alpnprotos?: string[], backlog?: integer, disp: fun(fd: integer, addr: string)}
---@param handler? fun(fd: integer, peer: string)
---@param opts? silly.net.tls.options|silly.net.tls.context
---@param backlog? integer
---@return integer? id
---@return string? err
function tls.listen(addr, handler, opts, backlog) end

---@async
---@param addr string
---@param opts? silly.net.tls.options|silly.net.tls.context|string options, or the original's bind
---@param hostname? string the original's form
---@param alpnprotos? string[] the original's form
---@return integer? fd
---@return string? err
function tls.connect(addr, opts, hostname, alpnprotos) end

---@param opts silly.net.tls.options
---@param side? "server"
---@return silly.net.tls.context
function tls.context(opts, side) end

---@param fd integer a TLS listener
---@param conf? {certs?: {cert: string, key: string}[], ciphers?: string, alpnprotos?: string[]}
---@return boolean ok
---@return string? err
function tls.reload(fd, conf) end

---@param fd integer
---@return string? protocol agreed through ALPN
function tls.alpnproto(fd) end

-- The rest is silly.net.tcp's, on TLS streams.
tls.read = tcp.read
tls.readline = tcp.readline
tls.readall = tcp.readall
tls.readsome = tcp.readsome
tls.write = tcp.write
tls.limit = tcp.limit
tls.recvsize = tcp.recvsize
tls.sendsize = tcp.sendsize
tls.isalive = tcp.isalive
tls.sockname = tcp.sockname

---@param fd integer
---@return boolean ok
---@return string? err
function tls.close(fd) end

return tls
