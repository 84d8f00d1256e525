---@meta
-- silly.env, silly.logger, silly.signal, silly.sync.*, silly.backoff,
-- silly.encoding.base64, silly.netpacket, silly.metrics, silly.store.etcd.
-- References: docs/reference/, docs/discovery.md, docs/metrics.md.

---@class silly.env
local env = {}
---@param key string
---@return any
function env.get(key) end
---@param key string
---@param value any
function env.set(key, value) end
---@param path string
---@return string? err
function env.load(path) end

---@class silly.logger
---@field DEBUG integer
---@field INFO integer
---@field WARN integer
---@field ERROR integer
local logger = {}
function logger.debug(...) end
function logger.info(...) end
function logger.warn(...) end
function logger.error(...) end
---@param fmt string only %s and %%
function logger.debugf(fmt, ...) end
---@param fmt string
function logger.infof(fmt, ...) end
---@param fmt string
function logger.warnf(fmt, ...) end
---@param fmt string
function logger.errorf(fmt, ...) end
---@return integer
function logger.getlevel() end
---@param level integer
function logger.setlevel(level) end

---@alias silly.signal fun(name: string, handler: fun(name: string)?): fun(name: string)?

---@class silly.sync.waitgroup
local waitgroup = {}
---@return silly.sync.waitgroup
function waitgroup.new() end
---@param fn fun()
---@return thread
function waitgroup:fork(fn) end
---@async
function waitgroup:wait() end

---@class silly.sync.mutex.guard
local guard = {}
function guard:unlock() end

---@class silly.sync.mutex
local mutex = {}
---@return silly.sync.mutex
function mutex.new() end
---@async
---@param key any
---@return silly.sync.mutex.guard
function mutex:lock(key) end

---@class silly.sync.channel
local channel = {}
---@return silly.sync.channel
function channel.new() end
---@param v any not nil or false
---@return boolean ok
---@return string? err
function channel:push(v) end
---@async
---@return any? v
---@return string? err
function channel:pop() end
function channel:clear() end
function channel:close() end

---@class silly.backoff
local backoff = {}
---@param ms integer
---@return integer
function backoff.jitter(ms) end
---@param ms integer
---@return integer
function backoff.next(ms) end

---@class silly.encoding.base64
local base64 = {}
---@param s string
---@return string
function base64.encode(s) end
---@param s string
---@return string? data
---@return string? err
function base64.decode(s) end
---@param s string
---@return string
function base64.urlsafe_encode(s) end
---@param s string
---@return string?
function base64.urlsafe_decode(s) end

---@class silly.store.etcd.client
local etcd_client = {}
---@param key string
---@param value string
---@param opts? {lease?: integer}
---@return integer? revision
---@return string? err
function etcd_client:put(key, value, opts) end
---@param key string
---@param opts? {prefix?: boolean, limit?: integer, revision?: integer}
---@return {key: string, value: string, create_revision: integer, mod_revision: integer, version: integer, lease: integer}[]? kvs
---@return integer|string revision_or_err
function etcd_client:get(key, opts) end
---@param key string
---@param opts? {prefix?: boolean}
---@return integer? deleted
---@return integer|string revision_or_err
function etcd_client:delete(key, opts) end
---@param ttl integer seconds
---@return integer? id
---@return integer|string ttl_or_err
function etcd_client:grant(ttl) end
---@param id integer
---@return integer? ttl
---@return string? err
function etcd_client:keepalive(id) end
---@param id integer
---@return integer? ttl
---@return string? err
function etcd_client:timetolive(id) end
---@param id integer
---@return boolean? ok
---@return string? err
function etcd_client:revoke(id) end
---@param prefix string
---@param fn fun(event: table)
---@param opts? {revision?: integer, prefix?: boolean}
---@return table watcher with :cancel()
function etcd_client:watch(prefix, fn, opts) end
function etcd_client:close() end

---@class silly.store.etcd
local etcd = {}
---@param conf {endpoints: string[], timeout?: integer, max_response?: integer}
---@return silly.store.etcd.client
function etcd.new(conf) end
---The original framework's client form (docs/compatibility.md).
---@param conf {endpoints: string[], retry?: integer, retry_sleep?: integer, timeout?: integer}
---@return table client with put{}, get{}, delete{}, compact{}, grant{}, revoke{}, ttl{}, leases(), keepalive{}
function etcd.newclient(conf) end
---@param prefix string
---@return string
function etcd.prefix_end(prefix) end
