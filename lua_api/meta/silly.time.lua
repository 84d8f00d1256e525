---@meta silly.time
-- Reference: docs/reference/silly.time.md.

---@class silly.time
local time = {}

---@return integer ms wall-clock ms since the epoch
function time.now() end

---@return integer ms since the process started
function time.monotonic() end

---@return integer us since the process started
function time.monotonic_us() end

---Suspends the calling task for at least ms.
---@param ms integer
function time.sleep(ms) end

---Runs fn(ud) (fn(id) without ud) in a new task after ms.
---@param ms integer
---@param fn fun(ud: any)
---@param ud? any
---@return integer id
function time.after(ms, fn, ud) end

---Stops a timer from after that has not fired.
---@param id integer
function time.cancel(id) end

return time
