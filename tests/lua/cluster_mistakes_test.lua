-- Mistakes in a codec or a call get an answer, by one rule: a failure that
-- depends on the data is returned as nil, "<kind> error: <why>"; a
-- programming error (wrong types, a size beyond the string) raises naming
-- the function.
local silly = require "silly"
local tcp = require "silly.net.tcp"
local T = require "testaux"

-- Any lightuserdata will do (a frame netpacket made): marshal never gets
-- to send it.
local _, pointer = require("silly.netpacket").request(1, 0, "x")

T.run(function()
	local reply_size -- what the serving side's marshal adds after its string
	local server = T.cluster {
		call = function(body) return body end,
		marshal = function(_, cmd, body)
			if reply_size then
				return cmd, body, reply_size
			end
			return cmd, body
		end,
	}
	local addr = tcp.sockname(T.ok(server.listen("127.0.0.1:0")))
	local mode
	local client = T.cluster {
		marshal = function(_, cmd, body)
			if mode == "raise" then
				error("cannot encode " .. tostring(body))
			elseif mode == "too long" then
				return cmd, body, 1000000
			elseif mode == "cut" then
				return cmd, body, 3
			elseif mode == "pointer" then
				return cmd, pointer -- a lightuserdata, its size forgotten
			end
			return cmd, body
		end,
		unmarshal = function(_, _, ptr, size)
			if mode == "nil reply" then
				return nil
			end
			return silly.tostring(ptr, size)
		end,
	}
	local fd = T.ok(client.connect(addr))
	T.eq(client.call(fd, 1, "fine"), "fine")

	mode = "raise"
	local r, err = client.call(fd, 1, "x")
	T.eq(r, nil)
	T.ok(err:match("^marshal error: .*cannot encode x"), "a raising marshal: " .. tostring(err))

	mode = "nil reply"
	r, err = client.call(fd, 1, "hello")
	T.eq(r, nil)
	T.eq(err, "unmarshal error: unmarshal returned nothing for a 5-byte response", "an unmarshal giving nothing")

	mode = "too long"
	T.raises(function() client.call(fd, 1, "abc") end,
		"cluster.call: marshal returned a size of 1000000 for a string of 3 bytes")
	T.raises(function() client.send(fd, 1, "abc") end,
		"cluster.send: marshal returned a size of 1000000 for a string of 3 bytes")

	mode = "cut"
	T.eq(client.call(fd, 1, "abcdef"), "abc", "a size shorter than the string sends that much")

	mode = "pointer"
	T.raises(function() client.call(fd, 1, "x") end, "cluster.call: marshal returned a lightuserdata without its size")

	mode = nil
	T.raises(function() client.call(fd, 1, "x", "100") end,
		'cluster.call: timeout must be a positive integer (ms), got string "100"')
	T.raises(function() client.call(fd, 1, "x", 1.5) end, "cluster.call: timeout must be a positive integer (ms), got 1.5")

	-- The serving side's mistake reaches the caller as a remote error.
	reply_size = 1000000
	r, err = client.call(fd, 1, "abc")
	T.eq(r, nil)
	T.ok(err:match("^remote handler error: .*cluster response: marshal returned a size of 1000000"),
		"the serving side's bad size: " .. tostring(err))
	reply_size = nil
	T.eq(client.call(fd, 1, "after"), "after", "the link is still fine")
	require("silly.c").free(pointer)
end)
