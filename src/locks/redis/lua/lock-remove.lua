-- ARGV: now, token -> 1 | 0
local now, token = now_ms(), ARGV[2]
local exp = redis.call('ZSCORE', EXPIRY, token)
if not exp then return 0 end
local live = tonumber(exp) > now
local dropped = drop(token)
if live then return dropped end
return 0
