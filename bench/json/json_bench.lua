-- JSON encode and decode speed of silly.encoding.json beside, in the same
-- process and rounds, lua-cjson (Debian's lua-cjson) and, when
-- --orig_json=PATH names it, the original framework's pure-Lua json.lua
-- (from its checkout; not part of this repository).
-- Run by bench/json/run.sh; prints one line per (codec, document, way).
local silly = require "silly"
local env = require "silly.env"
local time = require "silly.time"

local codecs = {{"silly", require "silly.encoding.json"}}
local ok_cjson, cjson = pcall(require, "cjson")
if ok_cjson then
	codecs[#codecs + 1] = {"cjson", cjson}
end
local orig_path = env.get("orig_json")
if orig_path then
	codecs[#codecs + 1] = {"original", dofile(orig_path)}
end

-- A game message (a player's state) and a config file (an item table).
local message = {
	cmd = "sync", uid = 10086, pos = {x = 12.5, y = -3.25, z = 100}, hp = 950, mp = 120,
	buffs = {{id = 3, left = 1200}, {id = 17, left = 40}}, name = "Aurelia",
	bag = {1001, 1002, 1003, 2001, 2002}, flags = {pvp = true, afk = false},
}
local config = {}
for i = 1, 600 do
	config[i] = {id = 100000 + i, name = "item-" .. i, price = i * 1.5, stack = 99,
		tags = {"weapon", "rare", "tier" .. (i % 5)}, stats = {atk = i, def = i // 2, spd = 0.25}}
end

local function measure(fn, arg, budget_ms)
	local n, start = 0, time.monotonic_us()
	local deadline = start + budget_ms * 1000
	repeat
		for _ = 1, 16 do
			fn(arg)
		end
		n = n + 16
	until time.monotonic_us() >= deadline
	return n * 1e6 / (time.monotonic_us() - start)
end

local rounds = tonumber(env.get("rounds") or "3")
local budget = tonumber(env.get("ms") or "300")
local best = {}
for _ = 1, rounds do
	for _, c in ipairs(codecs) do
		local name, codec = c[1], c[2]
		for _, doc in ipairs({{"message", message}, {"config", config}}) do
			local text = codec.encode(doc[2])
			assert(select(1, codec.decode(text)), name .. " decodes its own text")
			local enc = measure(codec.encode, doc[2], budget)
			local dec = measure(codec.decode, text, budget)
			for way, v in pairs({encode = enc, decode = dec}) do
				local key = name .. " " .. doc[1] .. " " .. way
				if not best[key] or v > best[key] then
					best[key] = v
				end
			end
			best[name .. " " .. doc[1] .. " bytes"] = #text
		end
	end
end
for _, c in ipairs(codecs) do
	for _, doc in ipairs({"message", "config"}) do
		for _, way in ipairs({"encode", "decode"}) do
			local v = best[c[1] .. " " .. doc .. " " .. way]
			local base = best["silly " .. doc .. " " .. way]
			print(string.format("%-8s %-7s %-6s %6d B  %10.0f ops/s  %5.2fx of silly", c[1], doc, way,
				best[c[1] .. " " .. doc .. " bytes"], v, v / base))
		end
	end
end
silly.exit(0)
