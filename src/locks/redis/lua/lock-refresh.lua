-- ARGV: now, token, timeoutSec, timeoutMs -> {json, exp} | nil
local now, token = now_ms(), ARGV[2]
local exp = redis.call('ZSCORE', EXPIRY, token)
if not exp then return false end
if tonumber(exp) <= now then drop(token) return false end
local json = redis.call('HGET', LOCKS, token)
if not json then redis.call('ZREM', EXPIRY, token) return false end
local l = cjson.decode(json)
l.timeoutSec = tonumber(ARGV[3])
json = cjson.encode(l)
exp = now + tonumber(ARGV[4])
redis.call('HSET', LOCKS, token, json)
redis.call('ZADD', EXPIRY, exp, token)
return {json, exp}
