---@meta
-- The batteries: silly.encoding.json, silly.hive.
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
