---@meta silly
-- Lua Language Server annotations for silly's modules (not loaded at run
-- time): put lua_api/meta in workspace.library (.luarc.json does).
-- Reference: docs/reference/silly.md.

---@class silly
local silly = {}

---Runs fn() in a new task once the current one yields or ends.
---@param fn fun()
---@return thread task
function silly.fork(fn) end

---Suspends the calling task until silly.wakeup(task, v).
---@return any v
function silly.wait() end

---Makes a task waiting in silly.wait ready; it resumes with v.
---@param task thread
---@param v any
function silly.wakeup(task, v) end

---@return thread
function silly.running() end

---@param task thread
---@return "READY"|"RUN"|"WAIT"|"SLEEP"|"EXIT"|nil
function silly.status(task) end

---Stops the loop; the process exits with code (0).
---@param code? integer
function silly.exit(code) end

---@return integer
function silly.genid() end

---Copies size bytes a C function handed over.
---@param ptr lightuserdata
---@param size integer
---@return string
function silly.tostring(ptr, size) end

---pcall with a traceback in the error.
---@param fn function
---@return boolean ok
---@return any ...
function silly.pcall(fn, ...) end

---Logs msg and a traceback at error level.
---@param msg string
function silly.error(msg) end

---The task's trace id, or a new one.
---@return integer
function silly.tracenew() end

---Sets the task's trace id.
---@param id? integer
---@return integer previous
function silly.trace(id) end

---Sets this node's span (the low 16 bits of the trace ids it propagates).
---@param span integer
function silly.tracespan(span) end

---The task's trace id with this node's span, for a request it sends on.
---@return integer
function silly.tracepropagate() end

---Hooks called when a task is created and when it ends (a debugger's);
---returns the scheduler's resume and yield.
---@param create? fun(co: thread)
---@param term? fun(co: thread)
---@return function resume
---@return function yield
function silly.task_hook(create, term) end

---@return table<thread, {status: string, traceback: string}>
function silly.tasks() end

---@return integer ready tasks ready to run now
function silly.taskstat() end

---fn(text, id) runs as a task for each message a host thread posts.
---@param fn fun(text: string, id: integer)
function silly.onpost(fn) end

---Answers a posted message.
---@param id integer
---@param text string
function silly.reply(id, text) end

return silly
