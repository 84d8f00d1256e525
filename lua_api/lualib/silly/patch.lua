-- silly.patch: replace functions of a running node and keep their state.
--
-- A Lua function's state is its upvalues. P:collectupval(f or {name = f})
-- maps each function's upvalues by name (recursing into upvalues that are
-- functions); P:join(new, old) then points every upvalue of the new
-- functions at the old function's upvalue of the same name
-- (debug.upvaluejoin), so a patched handler goes on with the counter, the
-- cache or the timer its predecessor held. Upvalues the old functions did
-- not have keep the new code's values, except _ENV, which becomes the
-- node's globals; join returns their paths ("$.handler.step") so the
-- patch's author can see what starts afresh. docs/operations.md says how to
-- patch safely.
local type = type
local pairs = pairs
local error = error
local concat = table.concat
local setmetatable = setmetatable
local getinfo = debug.getinfo
local getupvalue = debug.getupvalue
local setupvalue = debug.setupvalue
local upvalueid = debug.upvalueid
local upvaluejoin = debug.upvaluejoin

local M = {}
local mt = {__index = M}

-- The upvalues of fn by name into `into`: {idx, utype, val, upid} and, for
-- a function, `upvals`, its own (shared when several reach the same
-- function: `seen` maps a function to its map).
local function collect(fn, into, seen)
	for i = 1, getinfo(fn, "u").nups do
		local name, val = getupvalue(fn, i)
		local entry = {idx = i, utype = type(val), val = val, upid = upvalueid(fn, i)}
		if entry.utype == "function" then
			local nested = seen[val]
			if not nested then
				nested = {}
				seen[val] = nested
				collect(val, nested, seen)
			end
			entry.upvals = nested
		end
		into[name] = entry
	end
end

---A patch session: functions collected and joined are remembered, so each
---is walked once.
function M.new()
	return setmetatable({collected = {}, valjoined = {}}, mt)
end

---The upvalues of a function, or of each function of a table (then
---{name = {val = fn, upvals = ...}}).
function M:collectupval(f_or_t)
	local kind = type(f_or_t)
	if kind ~= "function" and kind ~= "table" then
		error("patch:collectupval: a function or a table of functions expected, got " .. kind, 2)
	end
	local seen = self.collected
	local out = {}
	if kind == "function" then
		collect(f_or_t, out, seen)
		return out
	end
	for name, fn in pairs(f_or_t) do
		if type(fn) == "function" then
			local ups = {}
			collect(fn, ups, seen)
			out[name] = {val = fn, upvals = ups}
		end
	end
	return out
end

-- Joins the upvalues of new function fn (map ups) to those of the old one
-- (map olds), depth first; records the paths of the ones the old lacks.
local function join_fn(fn, ups, old_fn, olds, joined, path, absent)
	local depth = #path + 1
	for name, up in pairs(ups) do
		path[depth] = name
		local old = olds[name]
		if old then
			if up.utype ~= old.utype and up.val ~= nil and old.val ~= nil then
				error("patch:join: " .. concat(path, ".") .. " is a " .. up.utype .. " in the patch but a "
					.. old.utype .. " in the running code", 0)
			end
			if up.utype == "function" then
				if old.utype ~= "function" then
					error("patch:join: " .. concat(path, ".") .. " is a function in the patch but nil in the "
						.. "running code", 0)
				end
				local v = up.val
				if not joined[v] then
					joined[v] = true
					join_fn(v, up.upvals, old.val, old.upvals, joined, path, absent)
				end
			else
				upvaluejoin(fn, up.idx, old_fn, old.idx)
			end
		else
			if name == "_ENV" then
				setupvalue(fn, up.idx, _ENV)
			end
			absent[#absent + 1] = concat(path, ".")
		end
		path[depth] = nil
	end
end

---Joins the new functions' upvalues to the old ones'. Two forms:
---P:join(new_collected, old_collected) for tables collected from modules,
---P:join(new_fn, new_ups, old_fn, old_ups) for one function. Returns the
---paths of the new upvalues the old code did not have.
function M:join(a, b, c, d)
	local absent = {}
	local joined = self.valjoined
	local path = {"$"}
	if type(a) == "table" then
		if type(b) ~= "table" then
			error("patch:join: the old functions' upvalues (a table) expected as argument 2", 2)
		end
		for name, new in pairs(a) do
			local old = b[name]
			if old then
				path[2] = name
				join_fn(new.val, new.upvals, old.val, old.upvals, joined, path, absent)
				path[2] = nil
			end
		end
		return absent
	end
	if type(a) ~= "function" or type(c) ~= "function" then
		error("patch:join: (new_fn, new_upvals, old_fn, old_upvals) or (new_collected, old_collected) expected", 2)
	end
	path[2] = "#"
	join_fn(a, b, c, d, joined, path, absent)
	return absent
end

return M
