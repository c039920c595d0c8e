-- ARGV: now, token -> {json, exp} | nil
local now, token = now_ms(), ARGV[2]
local exp = redis.call('ZSCORE', EXPIRY, token)
if not exp then return false end
if tonumber(exp) <= now then drop(token) return false end
local json = redis.call('HGET', LOCKS, token)
if not json then return false end
return {json, tonumber(exp)}
