-- silly.metrics: counters, gauges and histograms with labels, and their
-- Prometheus text exposition (format 0.0.4).
--
--   local c = metrics.counter("game_logins_total", "Player logins.", {"zone"})
--   c:labels("east"):inc()
--   local h = metrics.histogram("game_save_seconds", "Save time.", nil, {0.01, 0.1, 1})
--   h:observe(0.03)
--   metrics.serve("127.0.0.1:9100")   -- GET /metrics (silly.metrics.http)
--
-- An update is a table write: a metric without labels is returned as its
-- own only child, and labels(...) returns a child kept for those values,
-- so a hot path holds on to it. Collectors registered with metrics.collector(fn) run
-- before each exposition to set what they read from elsewhere.
local type = type
local error = error
local tostring = tostring
local select = select
local mtype = math.type
local format = string.format
local concat = table.concat
local huge = math.huge

local M = {}

local families = {} -- in registration order
local by_name = {}
local collectors = {}

local DEFAULT_BUCKETS = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

-- Numbers as the format wants them: integers plainly, +Inf, -Inf, NaN,
-- and the shortest of %.15g / %.17g that reads back the same.
local function num(v)
	if mtype(v) == "integer" then
		return tostring(v)
	elseif v ~= v then
		return "NaN"
	elseif v == huge then
		return "+Inf"
	elseif v == -huge then
		return "-Inf"
	elseif v == v // 1 and v > -2 ^ 53 and v < 2 ^ 53 then
		return format("%d", v)
	end
	local s = format("%.15g", v)
	if tonumber(s) ~= v then
		s = format("%.17g", v)
	end
	return s
end
M._num = num

local ESCAPE = {["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n"}
local function escape_value(s)
	return (s:gsub('[\\"\n]', ESCAPE))
end
local function escape_help(s)
	return (s:gsub("[\\\n]", ESCAPE))
end

------------------------------------------------------------------------
-- Children: what updates touch.

local Counter = {}
Counter.__index = Counter
function Counter:inc()
	self.value = self.value + 1
end
function Counter:add(n)
	if type(n) ~= "number" or n < 0 then
		error("metrics: counter:add needs a number >= 0, got " .. tostring(n), 2)
	end
	self.value = self.value + n
end

local Gauge = {}
Gauge.__index = Gauge
function Gauge:inc()
	self.value = self.value + 1
end
function Gauge:dec()
	self.value = self.value - 1
end
function Gauge:add(n)
	if type(n) ~= "number" then
		error("metrics: gauge:add needs a number, got " .. type(n), 2)
	end
	self.value = self.value + n
end
function Gauge:set(v)
	if type(v) ~= "number" then
		error("metrics: gauge:set needs a number, got " .. type(v), 2)
	end
	self.value = v
end

local Histogram = {}
Histogram.__index = Histogram
-- counts[i] holds observations in (bounds[i-1], bounds[i]]; the last, the
-- ones above every bound. Made cumulative only when exposed.
function Histogram:observe(v)
	-- The first bound >= v (a binary search), or the +Inf slot past them.
	local bounds = self.bounds
	local lo, hi = 1, #bounds + 1
	while lo < hi do
		local mid = (lo + hi) // 2
		if v > bounds[mid] then
			lo = mid + 1
		else
			hi = mid
		end
	end
	local counts = self.counts
	counts[lo] = counts[lo] + 1
	self.sum = self.sum + v
	self.count = self.count + 1
end

local function new_child(family, values)
	local child
	if family.kind == "histogram" then
		local counts = {}
		for i = 1, #family.bounds + 1 do
			counts[i] = 0
		end
		child = setmetatable({bounds = family.bounds, counts = counts, sum = 0, count = 0}, Histogram)
	else
		child = setmetatable({value = 0}, family.kind == "counter" and Counter or Gauge)
	end
	child.values = values
	local list = family.list
	list[#list + 1] = child
	return child
end

------------------------------------------------------------------------
-- Families: a name, its help, its label names and its children.

local Family = {}
Family.__index = Family

-- The child for these label values (strings or numbers), made on first use.
function Family:labels(...)
	local names = self.labelnames
	local n = select("#", ...)
	if n ~= #names then
		error(format("metrics: %s:labels needs %d values (%s), got %d", self.name, #names, concat(names, ", "), n), 2)
	end
	local key
	if n == 1 then
		key = ...
		local t = type(key)
		if t ~= "string" then
			if t ~= "number" then
				error(format("metrics: %s:labels: values must be strings or numbers, got %s", self.name, t), 2)
			end
			key = tostring(key)
		end
	else
		local parts = {...}
		for i = 1, n do
			local t = type(parts[i])
			if t == "number" then
				parts[i] = tostring(parts[i])
			elseif t ~= "string" then
				error(format("metrics: %s:labels: values must be strings or numbers, got %s", self.name, t), 2)
			end
		end
		key = concat(parts, "\0")
	end
	local child = self.children[key]
	if not child then
		child = new_child(self, n == 1 and {key} or {...})
		self.children[key] = child
	end
	return child
end

-- Updates belong to children: a labelled family says where they are.
local function labelled(fname)
	return function(self)
		error(format("metrics: %s has labels; %s is on :labels(...)", self.name, fname), 2)
	end
end
for _, f in ipairs({"inc", "dec", "add", "set", "observe"}) do
	Family[f] = labelled(f)
end

-- An unlabelled metric is its child; labels() on it is a mistake.
local function no_labels(self)
	error(format("metrics: %s has no labels", self.family.name), 2)
end
Counter.labels, Gauge.labels, Histogram.labels = no_labels, no_labels, no_labels

-- Drops every child (labelled families: their label sets start afresh).
function Family:reset()
	self.children = {}
	self.list = {}
	if #self.labelnames == 0 then
		self.single = new_child(self, {})
		self.single.family = self
	end
end

local function check_name(fname, name)
	if type(name) ~= "string" or not name:match("^[%a_:][%w_:]*$") then
		error(fname .. ": a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) expected, got " .. tostring(name), 3)
	end
	if by_name[name] then
		error(fname .. ": '" .. name .. "' is already registered", 3)
	end
end

local function define(fname, kind, name, help, labelnames, buckets)
	check_name(fname, name)
	if help ~= nil and type(help) ~= "string" then
		error(fname .. ": help must be a string, got " .. type(help), 3)
	end
	labelnames = labelnames or {}
	if type(labelnames) ~= "table" then
		error(fname .. ": label names must be a table, got " .. type(labelnames), 3)
	end
	for _, l in ipairs(labelnames) do
		if type(l) ~= "string" or not l:match("^[%a_][%w_]*$") or l:sub(1, 2) == "__" then
			error(fname .. ": bad label name " .. tostring(l), 3)
		end
		if kind == "histogram" and l == "le" then
			error(fname .. ": 'le' is the histogram's own label", 3)
		end
	end
	local f = setmetatable({
		name = name, help = help or "", kind = kind, labelnames = labelnames,
		children = {}, list = {},
	}, Family)
	if kind == "histogram" then
		buckets = buckets or DEFAULT_BUCKETS
		if type(buckets) ~= "table" or #buckets == 0 then
			error(fname .. ": buckets must be a non-empty list of numbers", 3)
		end
		local bounds = {}
		for i, b in ipairs(buckets) do
			if type(b) ~= "number" or (i > 1 and b <= bounds[i - 1]) then
				error(fname .. ": buckets must be increasing numbers", 3)
			end
			bounds[i] = b
		end
		if bounds[#bounds] == huge then
			bounds[#bounds] = nil -- +Inf is always there
		end
		f.bounds = bounds
	end
	families[#families + 1] = f
	by_name[name] = f
	if #labelnames == 0 then
		f.single = new_child(f, {})
		f.single.family = f
		return f.single
	end
	return f
end

-- counter(name, help [, labelnames]); gauge(...); histogram(name, help
-- [, labelnames [, buckets]]). With label names, the family (children come
-- from :labels(...)); without, the metric itself.
function M.counter(name, help, labelnames)
	return define("metrics.counter", "counter", name, help, labelnames)
end
function M.gauge(name, help, labelnames)
	return define("metrics.gauge", "gauge", name, help, labelnames)
end
function M.histogram(name, help, labelnames, buckets)
	return define("metrics.histogram", "histogram", name, help, labelnames, buckets)
end

-- The family registered under name, if any (its `single` is the metric of
-- an unlabelled one).
function M.get(name)
	return by_name[name]
end

-- fn() runs before each exposition, to set values read from elsewhere.
function M.collector(fn)
	if type(fn) ~= "function" then
		error("metrics.collector: function expected, got " .. type(fn), 2)
	end
	collectors[#collectors + 1] = fn
end

------------------------------------------------------------------------
-- Exposition.

local function label_text(names, values, extra_name, extra_value)
	local n = #names
	if n == 0 and not extra_name then
		return ""
	end
	local parts = {}
	for i = 1, n do
		parts[i] = names[i] .. '="' .. escape_value(values[i]) .. '"'
	end
	if extra_name then
		parts[n + 1] = extra_name .. '="' .. extra_value .. '"'
	end
	return "{" .. concat(parts, ",") .. "}"
end

local function expose(f, out)
	local name = f.name
	out[#out + 1] = "# HELP " .. name .. " " .. escape_help(f.help)
	out[#out + 1] = "# TYPE " .. name .. " " .. f.kind
	local names = f.labelnames
	for _, child in ipairs(f.list) do
		local values = child.values
		if f.kind == "histogram" then
			local bounds, counts = child.bounds, child.counts
			local cum = 0
			for i = 1, #bounds do
				cum = cum + counts[i]
				out[#out + 1] = name .. "_bucket" .. label_text(names, values, "le", num(bounds[i])) .. " " .. cum
			end
			cum = cum + counts[#bounds + 1]
			out[#out + 1] = name .. "_bucket" .. label_text(names, values, "le", "+Inf") .. " " .. cum
			local lt = label_text(names, values)
			out[#out + 1] = name .. "_sum" .. lt .. " " .. num(child.sum)
			out[#out + 1] = name .. "_count" .. lt .. " " .. child.count
		else
			out[#out + 1] = name .. label_text(names, values) .. " " .. num(child.value)
		end
	end
end

-- The whole exposition, after the collectors ran (a failing collector is
-- logged and skipped: the rest still shows).
function M.text()
	for _, fn in ipairs(collectors) do
		local ok, err = pcall(fn)
		if not ok then
			require("silly.logger").error("[metrics] collector failed:", err)
		end
	end
	local out = {}
	for _, f in ipairs(families) do
		expose(f, out)
	end
	out[#out + 1] = ""
	return concat(out, "\n")
end

M.CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

-- serve(addr [, {timeout = ms}]) -> listener fd | nil, err: GET /metrics
-- on addr, with the built-in collectors on (silly.metrics.http).
function M.serve(addr, opts)
	return require("silly.metrics.http").serve(addr, opts)
end

return M
