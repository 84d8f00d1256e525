-- silly.security.jwt: JSON Web Tokens (RFC 7519) signed with HMAC
-- (HS256/384/512, a string key), RSA (RS256/384/512) or ECDSA
-- (ES256/384/512), the last two with a silly.crypto.pkey key.
--
-- encode(payload, key[, alg]) -> token (alg "HS256" by default), or nil and
--   "unsupported algorithm: X"; raises on a key of the wrong kind.
-- decode(token, key) -> payload, or nil and the reason: "invalid token
--   format", "invalid header", "unsupported algorithm: X", "invalid
--   payload", "invalid signature", "signature verification failed",
--   "token expired" (exp passed), "token not yet valid" (nbf to come).
--
-- ES* signatures are JOSE's fixed-size r || s (RFC 7518, 3.4), which any
-- other JWT library reads; decode also accepts the DER form older tokens
-- may carry. A key of the wrong kind for the token's alg fails as a bad
-- signature ("alg": "none" is never accepted).
local base64 = require "silly.encoding.base64"
local json = require "silly.encoding.json"
local hmac = require "silly.crypto.hmac"
local pkey = require "silly.crypto.pkey"
local utils = require "silly.crypto.utils"
local time = require "silly.time"

local b64encode = base64.urlsafe_encode
local b64decode = base64.urlsafe_decode
local type = type

local M = {}

local function hmac_sign(key, input, hash)
	if type(key) ~= "string" then
		error("jwt.encode: an HMAC algorithm needs a string key, got " .. type(key), 3)
	end
	return hmac.digest(key, input, hash)
end

local function hmac_verify(key, input, sig, hash)
	return type(key) == "string" and utils.equal(hmac.digest(key, input, hash), sig)
end

local function is_pkey(key, kind)
	return type(key) == "userdata" and pcall(pkey.type, key) and pkey.type(key) == kind
end

local function rsa_sign(key, input, hash)
	if not is_pkey(key, "rsa") then
		error("jwt.encode: an RS algorithm needs an RSA key from silly.crypto.pkey", 3)
	end
	return pkey.sign(key, input, hash)
end

local function rsa_verify(key, input, sig, hash)
	return is_pkey(key, "rsa") and pkey.verify(key, input, sig, hash)
end

local function ec_sign(key, input, hash, size)
	if not is_pkey(key, "ec") then
		error("jwt.encode: an ES algorithm needs an EC key from silly.crypto.pkey", 3)
	end
	return pkey._jose(pkey.sign(key, input, hash), size)
end

local function ec_verify(key, input, sig, hash, size)
	if not is_pkey(key, "ec") then
		return false
	end
	if #sig == 2 * size then
		sig = pkey._der(sig)
	end
	return sig ~= nil and pkey.verify(key, input, sig, hash)
end

-- name -> sign, verify, digest, ECDSA coordinate size
local algs = {
	HS256 = {hmac_sign, hmac_verify, "sha256"},
	HS384 = {hmac_sign, hmac_verify, "sha384"},
	HS512 = {hmac_sign, hmac_verify, "sha512"},
	RS256 = {rsa_sign, rsa_verify, "sha256"},
	RS384 = {rsa_sign, rsa_verify, "sha384"},
	RS512 = {rsa_sign, rsa_verify, "sha512"},
	ES256 = {ec_sign, ec_verify, "sha256", 32},
	ES384 = {ec_sign, ec_verify, "sha384", 48},
	ES512 = {ec_sign, ec_verify, "sha512", 66},
}

local headers = {} -- alg -> its encoded header
for name in pairs(algs) do
	headers[name] = b64encode('{"alg":"' .. name .. '","typ":"JWT"}')
end

---@param payload table
---@param key string|userdata an HMAC secret, or a silly.crypto.pkey private key
---@param alg? string
---@return string? token
---@return string? err
function M.encode(payload, key, alg)
	alg = alg or "HS256"
	local a = algs[alg]
	if not a then
		return nil, "unsupported algorithm: " .. tostring(alg)
	end
	if type(payload) ~= "table" then
		error("jwt.encode: payload must be a table, got " .. type(payload), 2)
	end
	local input = headers[alg] .. "." .. b64encode(json.encode(payload))
	local sig = a[1](key, input, a[3], a[4])
	return input .. "." .. b64encode(sig), nil
end

---@param token string
---@param key string|userdata an HMAC secret, or a silly.crypto.pkey public key
---@return table? payload
---@return string? err
function M.decode(token, key)
	if type(token) ~= "string" then
		error("jwt.decode: token must be a string, got " .. type(token), 2)
	end
	local h64, p64, s64 = token:match("^([%w_-]+)%.([%w_-]+)%.([%w_-]+)$")
	if not h64 then
		return nil, "invalid token format"
	end
	local header = b64decode(h64)
	header = header and json.decode(header)
	if type(header) ~= "table" then
		return nil, "invalid header"
	end
	local a = algs[header.alg]
	if not a then
		return nil, "unsupported algorithm: " .. tostring(header.alg)
	end
	local payload = b64decode(p64)
	payload = payload and json.decode(payload)
	if type(payload) ~= "table" then
		return nil, "invalid payload"
	end
	local sig = b64decode(s64)
	if not sig then
		return nil, "invalid signature"
	end
	if not a[2](key, h64 .. "." .. p64, sig, a[3], a[4]) then
		return nil, "signature verification failed"
	end
	local now = time.now() // 1000
	if type(payload.exp) == "number" and now >= payload.exp then
		return nil, "token expired"
	end
	if type(payload.nbf) == "number" and now < payload.nbf then
		return nil, "token not yet valid"
	end
	return payload, nil
end

return M
