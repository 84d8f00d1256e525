-- silly.crypto.*, silly.security.jwt and silly.compress.gzip: published
-- test vectors, and real peers (the openssl tool, Python's PyJWT and gzip)
-- on both sides of each signature, token and stream.
local hash = require "silly.crypto.hash"
local hmac = require "silly.crypto.hmac"
local cipher = require "silly.crypto.cipher"
local pkey = require "silly.crypto.pkey"
local utils = require "silly.crypto.utils"
local jwt = require "silly.security.jwt"
local gzip = require "silly.compress.gzip"
local base64 = require "silly.encoding.base64"
local T = require "testaux"

local tmp = os.getenv("TEST_TMPDIR") or "/tmp"
local PY = "/usr/bin/python3"

local function hex(s)
	return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end
local function unhex(h)
	return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end
local function sh(cmd)
	local p = assert(io.popen(cmd .. " 2>&1"))
	local out = p:read("a")
	local ok = p:close()
	return out, ok
end
local function write(path, data)
	local f = assert(io.open(path, "wb"))
	f:write(data)
	f:close()
end
local function read(path)
	local f = assert(io.open(path, "rb"))
	local d = f:read("a")
	f:close()
	return d
end

T.run(function()
	-- Digests (FIPS 180 / RFC 1321 vectors).
	T.eq(hex(hash.hash("sha256", "abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256")
	T.eq(hex(hash.hash("SHA1", "abc")), "a9993e364706816aba3e25717850c26c9cd0d89d", "sha1, any case")
	T.eq(hex(hash.hash("md5", "")), "d41d8cd98f00b204e9800998ecf8427e", "md5 of nothing")
	local h = hash.new("sha256")
	h:update("a")
	h:update("bc")
	T.eq(hex(h:final()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "chunked")
	h:update("abc")
	T.eq(hex(h:final()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "reusable after final")
	h:update("junk")
	h:reset()
	T.eq(h:digest("abc"), hash.hash("sha256", "abc"), "reset, digest")
	local million = hash.new("sha256")
	million:update(string.rep("a", 1000000))
	T.eq(hex(million:final()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "a million a")
	T.raises(function() hash.new("nope") end, "hash.new: unknown digest method: 'nope'", "unknown digest")
	T.raises(function() hash.hash("sha256") end, "bad argument #2 to 'hash'", "no data")

	-- HMAC (RFC 4231 cases 1, 2 and 6).
	T.eq(hex(hmac.digest(string.rep("\x0b", 20), "Hi There", "sha256")),
		"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", "RFC 4231 case 1")
	T.eq(hex(hmac.digest("Jefe", "what do ya want for nothing?", "sha512")),
		"164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554" ..
		"9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
		"RFC 4231 case 2, sha512")
	T.eq(hex(hmac.digest(string.rep("\xaa", 131), "Test Using Larger Than Block-Size Key - Hash Key First", "sha256")),
		"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", "RFC 4231 case 6")
	T.eq(#hmac.digest("", "", "sha256"), 32, "empty key and message")
	T.raises(function() hmac.digest("k", nil, "sha256") end, "bad argument #2 to 'digest'", "nil message")
	T.raises(function() hmac.digest("k", "m", "x") end, "hmac.digest: unknown digest method", "unknown digest")

	-- Ciphers (NIST SP 800-38A F.2.1, and GCM test case 4 of its spec).
	local key = unhex("2b7e151628aed2a6abf7158809cf4f3c")
	local iv = unhex("000102030405060708090a0b0c0d0e0f")
	local pt = unhex("6bc1bee22e409f96e93d7e117393172a")
	local enc = cipher.encryptor("aes-128-cbc", key, iv)
	enc:setpadding(0)
	T.eq(hex(enc:update(pt) .. enc:final()), "7649abac8119b246cee98e9b12e9197d", "AES-128-CBC, NIST vector")
	local padded = cipher.encryptor("aes-128-cbc", key, iv):final("hello world")
	T.eq(#padded, 16, "PKCS#7 padding to one block")
	T.eq(cipher.decryptor("aes-128-cbc", key, iv):final(padded), "hello world", "round trip")
	local tampered = padded:sub(1, 15) .. string.char(padded:byte(16) ~ 1)
	T.eq(cipher.decryptor("aes-128-cbc", key, iv):final(tampered), nil, "bad padding: nil, nothing of it")
	local reused = cipher.encryptor("aes-128-cbc", key, iv)
	local first = reused:final("part one")
	reused:reset(key, iv)
	T.eq(reused:final("part one"), first, "reset starts over")
	T.raises(function() cipher.encryptor("aes-128-cbc", "short", iv) end, "key length need:16 got:5", "short key")
	T.raises(function() cipher.encryptor("aes-128-cbc", key, "x") end, "iv length need:16 got:1", "short iv")
	T.raises(function() cipher.encryptor("aes-999", key) end, "cipher.encryptor: unknown algorithm: aes-999", "alg")

	local gkey = unhex("feffe9928665731c6d6a8f9467308308")
	local giv = unhex("cafebabefacedbaddecaf888")
	local gpt = unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" ..
		"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39")
	local aad = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2")
	local g = cipher.encryptor("aes-128-gcm", gkey, giv)
	g:setaad(aad)
	local gct = g:final(gpt)
	T.eq(hex(gct), "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e" ..
		"21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091", "AES-128-GCM, spec test case 4")
	T.eq(hex(g:tag()), "5bc94fbc3221a5db94fae95ae7121a47", "its tag")
	local d = cipher.decryptor("aes-128-gcm", gkey, giv)
	d:setaad(aad)
	d:settag(g:tag())
	T.eq(d:final(gct), gpt, "GCM decrypts with the right tag")
	d = cipher.decryptor("aes-128-gcm", gkey, giv)
	d:setaad(aad)
	d:settag(string.rep("\0", 16))
	T.eq(d:final(gct), nil, "a wrong tag: nil")
	T.raises(function() cipher.encryptor("aes-128-cbc", key, iv):tag() end, "not an AEAD cipher", "tag of CBC")

	-- Our ciphertext read by the openssl tool.
	write(tmp .. "/ct.bin", cipher.encryptor("aes-256-cbc", string.rep("k", 32), string.rep("i", 16)):final("to openssl"))
	local out = sh(string.format("openssl enc -d -aes-256-cbc -K %s -iv %s -in %s/ct.bin", hex(string.rep("k", 32)),
		hex(string.rep("i", 16)), tmp))
	T.eq(out, "to openssl", "openssl enc decrypts ours")

	-- Public keys made by the openssl tool; signatures checked both ways.
	local _, ok = sh(string.format("openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out %s/rsa.pem && " ..
		"openssl pkey -in %s/rsa.pem -pubout -out %s/rsa.pub && " ..
		"openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s/ec.pem && " ..
		"openssl pkey -in %s/ec.pem -pubout -out %s/ec.pub && " ..
		"openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out %s/ec521.pem && " ..
		"openssl pkey -in %s/ec521.pem -pubout -out %s/ec521.pub && " ..
		"openssl genpkey -quiet -algorithm RSA -aes-128-cbc -pass pass:secret -out %s/rsa_enc.pem",
		tmp, tmp, tmp, tmp, tmp, tmp, tmp, tmp, tmp, tmp))
	T.ok(ok, "openssl made the keys")
	local rsa, rsa_pub = pkey.new(read(tmp .. "/rsa.pem")), pkey.new(read(tmp .. "/rsa.pub"))
	local ec, ec_pub = pkey.new(read(tmp .. "/ec.pem")), pkey.new(read(tmp .. "/ec.pub"))
	T.eq(rsa:type(), "rsa", "RSA key")
	T.eq(rsa:bits(), 2048, "2048 bits")
	T.eq(ec:type(), "ec", "EC key")
	local sig = rsa:sign("message", "sha256")
	T.eq(rsa_pub:verify("message", sig, "sha256"), true, "RSA verifies")
	T.eq(rsa_pub:verify("messagE", sig, "sha256"), false, "another message")
	T.eq(rsa_pub:verify("message", "garbage", "sha256"), false, "garbage signature")
	T.eq(ec_pub:verify("message", sig, "sha256"), false, "the wrong key type")
	write(tmp .. "/msg", "signed by silly")
	write(tmp .. "/sig", ec:sign("signed by silly", "sha384"))
	out = sh(string.format("openssl dgst -sha384 -verify %s/ec.pub -signature %s/sig %s/msg", tmp, tmp, tmp))
	T.ok(out:find("Verified OK", 1, true), "openssl verifies our ECDSA signature: " .. out)
	sh(string.format("openssl dgst -sha256 -sign %s/rsa.pem -out %s/osig %s/msg", tmp, tmp, tmp))
	T.eq(rsa_pub:verify("signed by silly", read(tmp .. "/osig"), "sha256"), true, "we verify openssl's RSA signature")
	T.ok(pkey.new(read(tmp .. "/rsa_enc.pem"), "secret"), "an encrypted key with its password")
	T.raises(function() pkey.new(read(tmp .. "/rsa_enc.pem"), "wrong") end, "pkey.new: cannot load the key",
		"the wrong password")
	T.raises(function() pkey.new(read(tmp .. "/rsa_enc.pem")) end, "needs a password", "no password")
	T.raises(function() pkey.new("not a key") end, "pkey.new: cannot load the key", "not a key")
	T.raises(function() rsa:sign("m", "nope") end, "pkey.sign: unknown digest method", "unknown digest")

	-- utils
	T.eq(utils.xor("XY", "ABCD"), string.char(65 ~ 88, 66 ~ 89, 67 ~ 88, 68 ~ 89), "xor repeats the key")
	T.eq(utils.xor("k", ""), "", "xor of nothing")
	T.raises(function() utils.xor("", "data") end, "the key must not be empty", "empty xor key")
	local rk = utils.randomkey(64)
	T.ok(#rk == 64 and rk:match("^[a-z]+$"), "randomkey: 64 letters")
	T.ok(utils.randomkey(64) ~= rk, "randomkey is random")
	T.eq(utils.equal("abc", "abc"), true, "equal")
	T.eq(utils.equal("abc", "abd"), false, "not equal")
	T.eq(utils.equal("abc", "ab"), false, "lengths differ")

	-- JWT: RFC 7515 A.1's token (HS256) verifies, and has expired.
	local rfc_key = base64.urlsafe_decode(
		"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
	local rfc_token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9." ..
		"eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ." ..
		"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	local payload, err = jwt.decode(rfc_token, rfc_key)
	T.eq(payload, nil, "RFC 7515 A.1 token")
	T.eq(err, "token expired", "its signature checks out and its exp (2011) has passed")
	T.eq(select(2, jwt.decode(rfc_token, "another key")), "signature verification failed", "the wrong key")

	local claims = {sub = "player-42", exp = os.time() + 3600, roles = {"gm"}}
	for _, alg in ipairs({"HS256", "HS384", "HS512"}) do
		local tok = assert(jwt.encode(claims, "s3cret", alg))
		T.eq(jwt.decode(tok, "s3cret").sub, "player-42", alg .. " round trip")
	end
	for _, case in ipairs({{"RS256", rsa, rsa_pub}, {"RS512", rsa, rsa_pub}, {"ES256", ec, ec_pub}}) do
		local tok = assert(jwt.encode(claims, case[2], case[1]))
		T.eq(jwt.decode(tok, case[3]).roles[1], "gm", case[1] .. " round trip")
	end
	local es512 = pkey.new(read(tmp .. "/ec521.pem"))
	local es512_pub = pkey.new(read(tmp .. "/ec521.pub"))
	local tok512 = jwt.encode(claims, es512, "ES512")
	T.eq(#base64.urlsafe_decode(tok512:match("[^.]+$")), 132, "ES512: JOSE's 66 + 66 bytes")
	T.ok(jwt.decode(tok512, es512_pub), "ES512 round trip")
	local tok = jwt.encode(claims, ec, "ES256")
	T.eq(#base64.urlsafe_decode(tok:match("[^.]+$")), 64, "ES256: JOSE's 32 + 32 bytes")
	local h64, p64 = tok:match("^([^.]+)%.([^.]+)")
	local der = ec:sign(h64 .. "." .. p64, "sha256")
	T.ok(jwt.decode(h64 .. "." .. p64 .. "." .. base64.urlsafe_encode(der), ec_pub), "a DER signature is read too")
	T.eq(select(2, jwt.decode(tok, rsa_pub)), "signature verification failed", "ES token, RSA key")
	T.eq(select(2, jwt.decode(tok, "a string")), "signature verification failed", "ES token, HMAC key")
	T.eq(select(2, jwt.decode(jwt.encode(claims, "k"), ec_pub)), "signature verification failed", "HS token, EC key")
	T.eq(select(2, jwt.decode("a.b", "k")), "invalid token format", "two parts")
	T.eq(select(2, jwt.decode(base64.urlsafe_encode('{"alg":"none"}') .. ".e30.x", "k")), "unsupported algorithm: none",
		"alg none")
	T.eq(select(2, jwt.decode(jwt.encode({nbf = os.time() + 600}, "k"), "k")), "token not yet valid", "nbf")
	T.eq(select(2, jwt.encode({}, "k", "XX999")), "unsupported algorithm: XX999", "encode: unknown alg")
	T.raises(function() jwt.encode({}, rsa, "HS256") end, "needs a string key", "HS with a pkey")
	T.raises(function() jwt.encode({}, "k", "RS256") end, "needs an RSA key", "RS with a string")
	T.raises(function() jwt.encode({}, rsa, "ES256") end, "needs an EC key", "ES with an RSA key")

	-- JWT against PyJWT, both ways (HS256 and ES256).
	write(tmp .. "/ours.jwt", jwt.encode(claims, "shared", "HS256") .. "\n" .. tok)
	local script = string.format([[
import jwt, sys
hs, es = open("%s/ours.jwt").read().split("\n")
print(jwt.decode(hs, "shared", algorithms=["HS256"])["sub"])
print(jwt.decode(es, open("%s/ec.pub").read(), algorithms=["ES256"])["roles"][0])
print(jwt.encode({"sub": "from-python"}, "shared", algorithm="HS256"))
print(jwt.encode({"sub": "from-python-ec"}, open("%s/ec.pem").read(), algorithm="ES256"))
]], tmp, tmp, tmp)
	write(tmp .. "/pyjwt.py", script)
	out, ok = sh(PY .. " " .. tmp .. "/pyjwt.py")
	T.ok(ok, "PyJWT ran: " .. out)
	local lines = {}
	for l in out:gmatch("[^\n]+") do
		lines[#lines + 1] = l
	end
	T.eq(lines[1], "player-42", "PyJWT verifies our HS256 token")
	T.eq(lines[2], "gm", "PyJWT verifies our ES256 token")
	T.eq(jwt.decode(lines[3], "shared").sub, "from-python", "we verify PyJWT's HS256 token")
	T.eq(jwt.decode(lines[4], ec_pub).sub, "from-python-ec", "we verify PyJWT's ES256 token")

	-- gzip: round trips, gzip(1) both ways, and every bad stream refused.
	for _, s in ipairs({"", "a", "hello world", string.rep("abc", 100000), "\0\1\2\255"}) do
		local z = gzip.compress(s)
		T.eq(z:byte(1) == 0x1f and z:byte(2) == 0x8b, true, "gzip magic")
		T.eq(gzip.decompress(z), s, "round trip of " .. #s .. " bytes")
	end
	T.ok(#gzip.compress(string.rep("x", 100000), 9) < 300, "level 9 squeezes a run")
	write(tmp .. "/ours.gz", gzip.compress("from silly\n"))
	out = sh("gzip -dc " .. tmp .. "/ours.gz")
	T.eq(out, "from silly\n", "gzip -d reads ours")
	write(tmp .. "/theirs", string.rep("from gzip\n", 1000))
	sh("gzip -kf9 " .. tmp .. "/theirs")
	T.eq(gzip.decompress(read(tmp .. "/theirs.gz")), string.rep("from gzip\n", 1000), "we read gzip's")
	local two = gzip.compress("one ") .. gzip.compress("two")
	T.eq(gzip.decompress(two), "one two", "concatenated members, as gunzip reads them")
	local z = gzip.compress(string.rep("data ", 1000))
	local r, why = gzip.decompress(z:sub(1, #z - 5))
	T.eq(r, nil, "truncated")
	T.eq(why, "gzip.decompress: truncated data", "truncated: the reason")
	r, why = gzip.decompress("not a gzip stream")
	T.eq(r, nil, "not gzip")
	T.ok(why:find("^gzip.decompress: "), "not gzip: the reason: " .. why)
	_, why = gzip.decompress(z .. "junk")
	T.eq(why, "gzip.decompress: trailing bytes after the gzip stream", "trailing bytes")
	local bomb = gzip.compress(string.rep("\0", 10 * 1024 * 1024))
	T.le(#bomb, 20000, "10 MiB of zeros is small")
	r, why = gzip.decompress(bomb, 1024 * 1024)
	T.eq(r, nil, "over the output limit")
	T.eq(why, "gzip.decompress: output over the limit", "the limit's reason")
	T.eq(#gzip.decompress(bomb), 10 * 1024 * 1024, "within the default 64 MiB")
	T.eq(select(2, gzip.decompress("")), "gzip.decompress: empty input", "empty")
	T.raises(function() gzip.compress("x", 11) end, "level must be 0..9", "bad level")
end)
