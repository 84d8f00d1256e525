-- silly.env: configuration from `--key=value` words and Lua config files.
local c = require "silly.c"

local M = {}
local store = {}

for _, word in ipairs(c.argv()) do
	local key, value = word:match("^%-%-([^=]+)=(.+)$")
	if key then
		store[key] = value
	end
end

function M.get(key)
	return store[key]
end

function M.set(key, value)
	store[key] = value
end

local function flatten(prefix, t, out)
	for k, v in pairs(t) do
		local name = prefix and (prefix .. "." .. tostring(k)) or tostring(k)
		if type(v) == "table" then
			flatten(name, v, out)
		else
			out[name] = v
		end
	end
end

-- Runs a config file; its globals become keys that are not set already.
function M.load(path)
	local globals = {}
	local sandbox = setmetatable({}, {__index = _ENV, __newindex = globals})
	local function include(p)
		local f, err = loadfile(p, "t", sandbox)
		if not f then
			error(err, 2)
		end
		f()
	end
	rawset(sandbox, "include", include)
	rawset(sandbox, "ENV", os.getenv)
	local ok, err = pcall(include, path)
	if not ok then
		return tostring(err):gsub("^[^:]*:%d+: ", "", 1)
	end
	local flat = {}
	flatten(nil, globals, flat)
	for k, v in pairs(flat) do
		if store[k] == nil then
			store[k] = v
		end
	end
	return nil
end

return M
