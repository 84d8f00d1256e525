-- silly.env: --key=value words and config files.
local env = require "silly.env"
local T = require "testaux"

T.run(function()
	T.eq(env.get("alpha"), "1", "--alpha=1 from the command line")
	T.eq(env.get("game.zone"), "east")
	T.eq(env.get("missing"), nil)
	env.set("x", 42)
	T.eq(env.get("x"), 42)
	local path = os.tmpname()
	local f = io.open(path, "w")
	f:write([[
alpha = "from file"
server = {port = 8000, name = "s1", list = {{1}, {2}}}
home = ENV("PATH") ~= nil
]])
	f:close()
	T.eq(env.load(path), nil)
	T.eq(env.get("alpha"), "1", "the command line wins")
	T.eq(env.get("server.port"), 8000, "nested keys are flattened, types kept")
	T.eq(env.get("server.name"), "s1")
	T.eq(env.get("server.list.2.1"), 2)
	T.eq(env.get("home"), true)
	f = io.open(path, "w")
	f:write("this is not lua")
	f:close()
	local err = env.load(path)
	T.ok(type(err) == "string" and #err > 0, "a broken file returns its error")
	os.remove(path)
end)
