---@meta
-- The batteries: silly.encoding.json, silly.hive, silly.crypto.*,
-- silly.security.jwt, silly.compress.gzip.
-- References: docs/reference/silly.encoding.json.md, docs/reference/silly.hive.md.

---@class silly.encoding.json
local json = {}
---Raises "json.encode: ..." for what JSON cannot hold.
---@param v any
---@return string
function json.encode(v) end
---@param s string
---@return any value
---@return integer|string next_or_err the index after the value, or the reason
function json.decode(s) end

---@class silly.hive.worker

---@class silly.hive
local hive = {}
---@param code string
---@param ... any
---@return silly.hive.worker
function hive.spawn(code, ...) end
---@param worker silly.hive.worker
---@param ... any
---@return ...
function hive.invoke(worker, ...) end
---@param min integer
---@param max integer
---@param queue? integer
function hive.limit(min, max, queue) end
---@return integer
function hive.threads() end
---@return integer
function hive.prune() end
---@return integer queued
---@return integer busy
function hive.queued() end

---The module's functions are also the methods of what new() returns.
---@class silly.crypto.hash
local hash = {}
---@class silly.crypto.hash.context: silly.crypto.hash
---@param h silly.crypto.hash.context
---@param s string
function hash.update(h, s) end
---@param h silly.crypto.hash.context
---@return string
function hash.final(h) end
---@param h silly.crypto.hash.context
function hash.reset(h) end
---@param h silly.crypto.hash.context
---@param s string
---@return string
function hash.digest(h, s) end
---@param alg string
---@return silly.crypto.hash.context
function hash.new(alg) end
---@param alg string
---@param s string
---@return string
function hash.hash(alg, s) end

---@class silly.crypto.hmac
local hmac = {}
---@param key string
---@param data string
---@param alg string
---@return string
function hmac.digest(key, data, alg) end

---The module's functions are also the methods of what encryptor() and
---decryptor() return.
---@class silly.crypto.cipher
local cipher = {}
---@class silly.crypto.cipher.context: silly.crypto.cipher
---@param c silly.crypto.cipher.context
---@param s string
---@return string
function cipher.update(c, s) end
---@param c silly.crypto.cipher.context
---@param s? string
---@return string?
function cipher.final(c, s) end
---@param c silly.crypto.cipher.context
---@param key string
---@param iv? string
function cipher.reset(c, key, iv) end
---@param c silly.crypto.cipher.context
---@param on integer
function cipher.setpadding(c, on) end
---@param c silly.crypto.cipher.context
---@param aad string
function cipher.setaad(c, aad) end
---@param c silly.crypto.cipher.context
---@param tag string
function cipher.settag(c, tag) end
---@param c silly.crypto.cipher.context
---@return string
function cipher.tag(c) end
---@param alg string
---@param key string
---@param iv? string
---@return silly.crypto.cipher.context
function cipher.encryptor(alg, key, iv) end
---@param alg string
---@param key string
---@param iv? string
---@return silly.crypto.cipher.context
function cipher.decryptor(alg, key, iv) end

---The module's functions are also the methods of what new() returns.
---@class silly.crypto.pkey
local pkey = {}
---@class silly.crypto.pkey.key: silly.crypto.pkey
---@param k silly.crypto.pkey.key
---@param message string
---@param alg string
---@return string
function pkey.sign(k, message, alg) end
---@param k silly.crypto.pkey.key
---@param message string
---@param signature string
---@param alg string
---@return boolean
function pkey.verify(k, message, signature, alg) end
---@param k silly.crypto.pkey.key
---@return string
function pkey.type(k) end
---@param k silly.crypto.pkey.key
---@return integer
function pkey.bits(k) end
---@param key string
---@param password? string
---@return silly.crypto.pkey.key
function pkey.new(key, password) end

---@class silly.crypto.utils
local utils = {}
---@param n integer
---@return string
function utils.randomkey(n) end
---@param key string
---@param data string
---@return string
function utils.xor(key, data) end
---@param a string
---@param b string
---@return boolean
function utils.equal(a, b) end

---@class silly.security.jwt
local jwt = {}
---@param payload table
---@param key string|silly.crypto.pkey.key
---@param alg? string
---@return string? token
---@return string? err
function jwt.encode(payload, key, alg) end
---@param token string
---@param key string|silly.crypto.pkey.key
---@return table? payload
---@return string? err
function jwt.decode(token, key) end

---@class silly.compress.gzip
local gzip = {}
---@param s string
---@param level? integer
---@return string
function gzip.compress(s, level) end
---@param s string
---@param max? integer
---@return string? data
---@return string? err
function gzip.decompress(s, max) end

---@class silly.net.http.server
---@field fd integer
local http_server = {}
function http_server:close() end

---@class silly.net.http
local http = {}
---@param conf {addr: string, handler: fun(stream: table), tls?: boolean, certs?: table, ciphers?: string, alpnprotos?: string[], backlog?: integer, header_limit?: integer, body_limit?: integer, header_timeout?: integer, keepalive_timeout?: integer}
---@return silly.net.http.server? server
---@return string? err
function http.listen(conf) end
---@param method string
---@param url string
---@param header? table<string, string|string[]|integer>
---@param close? boolean
---@param opts? {timeout?: integer, tls?: {ca?: string, verify?: boolean}, header_limit?: integer, body_limit?: integer}
---@return table? stream
---@return string? err
function http.request(method, url, header, close, opts) end
---@param url string
---@param header? table
---@param opts? table
---@return {status: integer, header: table, body: string}? response
---@return string? err
function http.GET(url, header, opts) end
---@param url string
---@param header? table
---@param body? string
---@param opts? table
---@return {status: integer, header: table, body: string}? response
---@return string? err
function http.POST(url, header, body, opts) end
---@param url string
---@param header? table
---@param body? string
---@param opts? table
---@return {status: integer, header: table, body: string}? response
---@return string? err
function http.PUT(url, header, body, opts) end
---@param url string
---@param header? table
---@param opts? table
---@return {status: integer, header: table, body: string}? response
---@return string? err
function http.DELETE(url, header, opts) end

---@class silly.net.websocket.socket
---@field fd integer
local ws_sock = {}
---@return string? data
---@return string? type_or_err
---@return integer? code
function ws_sock:read() end
---@param data string
---@param type? "text"|"binary"|"ping"|"pong"|"close"
---@return boolean ok
---@return string? err
function ws_sock:write(data, type) end
---@param code? integer
---@param reason? string
function ws_sock:close(code, reason) end

---@class silly.net.websocket
local websocket = {}
---@param conf {addr: string, handler: fun(sock: silly.net.websocket.socket), tls?: boolean, certs?: table, max_message?: integer}
---@return silly.net.http.server? server
---@return string? err
function websocket.listen(conf) end
---@param url string
---@param header? table
---@param opts? {tls?: {ca?: string, verify?: boolean}, max_message?: integer, timeout?: integer}
---@return silly.net.websocket.socket? sock
---@return string? err
function websocket.connect(url, header, opts) end

---Every Redis command is a method of its own: db:get(k), db:hset(k, f, v)...
---@class silly.store.redis.db
---@field [string] fun(self: silly.store.redis.db, ...): boolean, any

---@class silly.store.redis
local redis = {}
---@param config {addr: string, auth?: string, db?: integer, timeout?: integer}
---@return silly.store.redis.db
function redis.new(config) end
---@param db silly.store.redis.db
function redis.close(db) end
---Raises: the database is chosen by redis.new{db = }.
function redis.select() end
---@param db silly.store.redis.db
---@param cmd string
---@param ... any
---@return boolean ok
---@return any value
function redis.call(db, cmd, ...) end
---@param db silly.store.redis.db
---@param reqs table[]
---@param ret? table
---@return boolean ok
---@return any value_or_count
function redis.pipeline(db, reqs, ret) end

---A connection of the pool in a transaction (pool:begin()).
---@class silly.store.mysql.tx
local tx = {}
---@param sql string
---@param ... nil|boolean|number|string
---@return table? result rows, or an OK table
---@return table? err {type = "ERR", errno?, sqlstate?, message}
function tx:query(sql, ...) end
---@return table? ok
---@return table? err
function tx:ping() end
---@return table? ok
---@return table? err
function tx:commit() end
---@return table? ok
---@return table? err
function tx:rollback() end
---Gives the connection back (a transaction still open is rolled back).
function tx:close() end

---@class silly.store.mysql
---@field conns_idle silly.store.mysql.tx[]
---@field open_count integer
local mysql = {}
---@param opts {addr?: string, user?: string, password?: string, database?: string, charset?: string, max_open_conns?: integer, max_idle_conns?: integer, max_idle_time?: integer, max_lifetime?: integer, max_packet_size?: integer, timeout?: integer, connect_timeout?: integer}
---@return silly.store.mysql pool
function mysql.open(opts) end
---@param sql string
---@param ... nil|boolean|number|string
---@return table? result rows, or an OK table
---@return table? err {type = "ERR", errno?, sqlstate?, message}
function mysql:query(sql, ...) end
---@return table? ok
---@return table? err
function mysql:ping() end
---@return silly.store.mysql.tx? tx
---@return table? err
function mysql:begin() end
function mysql:close() end

---A hot-patch session (docs/operations.md, "Hot patches").
---@class silly.patch
local patch = {}
---@return silly.patch
function patch.new() end
---@param f_or_t function|table<string, function>
---@return table upvals by name: {idx, utype, val, upid, upvals?} (or {val, upvals} per function of a table)
function patch:collectupval(f_or_t) end
---@param new table|function collected upvalues of the new module, or the new function
---@param old_or_new_upvals table
---@param old_fn? function
---@param old_upvals? table
---@return string[] absent paths of upvalues the old code did not have ("$.fn.name")
function patch:join(new, old_or_new_upvals, old_fn, old_upvals) end
