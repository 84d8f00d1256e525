-- Writes the fuzzers' seed corpora (tests/fuzz/corpus/<target>/) from the
-- project's test vectors and codecs. Run from the repository root:
--   bazel-bin/silly tests/fuzz/make_corpus.lua
local silly = require "silly"
local msgpack = require "msgpack"
local protobuf = require "protobuf"
local np = require "silly.netpacket"

local root = "tests/fuzz/corpus/"
local count = {}
local function put(target, bytes)
	os.execute("mkdir -p " .. root .. target)
	count[target] = (count[target] or 0) + 1
	local f = assert(io.open(string.format("%s%s/seed%03d", root, target, count[target]), "wb"))
	f:write(bytes)
	f:close()
end

local function unhex(h)
	return (h:gsub("..", function(x) return string.char(tonumber(x, 16)) end))
end

local V = dofile("tests/vectors/zproto/vectors.lua")
for _, c in ipairs(V.codec) do
	put("zproto_decode_fuzzer", unhex(c.encode_hex))
	put("zproto_decode_fuzzer", unhex(c.pack_hex))
end
for _, c in ipairs(V.pack) do
	put("zproto_decode_fuzzer", unhex(c.pack_hex))
end
for _, c in ipairs(V.parse) do
	put("zproto_schema_fuzzer", c.schema)
end
local f = assert(io.open("tests/vectors/zproto/schema.zproto"))
put("zproto_schema_fuzzer", f:read("a"))
f:close()

for _, v in ipairs({{1, 2, 3}, {a = 1, b = {true, false, nil}}, "text", 1.5, math.mininteger,
	msgpack.array({}), {[10] = "x", nested = {deep = {deeper = {1}}}}, msgpack.binary("\0\1")}) do
	put("msgpack_decode_fuzzer", msgpack.encode(v))
end

assert(protobuf.loadfile("tests/lua/pb/game.proto"))
put("protobuf_decode_fuzzer", protobuf.encode("game.Player", {name = "hero", level = 7, scores = {1, 2, 300},
	tags = {"a"}, items = {{id = 1, count = 2}}, stats = {str = 10}, bag = {[5] = {id = 50}}, email = "x",
	weapon = {id = 9}, guild = 1, loose = {4, 5}, classes = {"MAGE"}, far = 42}))
put("protobuf_decode_fuzzer", protobuf.encode("game.Scalars", {i32 = -5, i64 = -9000000000, u32 = 4000000000,
	s32 = -100, s64 = -7, f32 = 1, f64 = 2, sf32 = -3, sf64 = -4, flag = true, ratio = 0.5, precise = 3.25,
	name = "n", blob = "\0", cls = "ARCHER"}))

-- Frames: the first two bytes choose the chunking.
local frames = {}
for i = 1, 4 do
	local _, p, n = np.request(i, i * 1000, string.rep("r", i * 7))
	frames[#frames + 1] = np.tostring(p, n)
	p, n = np.response(i, string.rep("s", i * 5))
	frames[#frames + 1] = np.tostring(p, n)
end
put("frame_fuzzer", "\3\1" .. table.concat(frames))
put("frame_fuzzer", "\64\2" .. frames[1] .. frames[2])
put("frame_fuzzer", "\1\1" .. "\0\8" .. string.rep("\1", 8))
for target, n in pairs(count) do
	print(target, n)
end
silly.exit(0)
