-- A cluster call through each codec between two processes.
local cluster = require "silly.net.cluster"
local codecs = require "codecs_for_tests"
local T = require "testaux"

T.run(function()
	for _, name in ipairs({"msgpack", "protobuf", "zproto"}) do
		local f = io.popen(string.format("%s %s/helper_codec_node.lua --lualib_path='%s/?.lua' --codec=%s",
			T.silly, T.dir, T.dir, name))
		local addr = f:read("l"):match("^ready (.*)$")
		T.ok(addr, name .. " node started")
		local c = codecs[name]
		local client = cluster.new {marshal = c.marshal, unmarshal = c.unmarshal, call = function() end,
			close = function() end}
		local fd = T.ok(client.connect(addr))
		local items = {}
		for i = 1, 16 do
			items[i] = {id = i, count = i * 10}
		end
		local r, err = client.call(fd, 1, {name = "hero", level = 41, items = items})
		T.ok(r, name .. ": " .. tostring(err))
		T.eq(r.level, 42, name .. ": the handler's change came back")
		T.eq(r.name, "hero")
		T.eq(#r.items, 16)
		T.eq(r.items[16].count, 160)
		client.close(fd)
		os.execute("pkill -f 'helper_codec_node.lua.*--codec=" .. name .. "'")
		f:close()
	end
end)
