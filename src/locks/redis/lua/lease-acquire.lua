-- ARGV: id, leaseMs, joined holds (mode letter + path, NUL-separated) -> 1 acquired | 0 busy
local now = now_ms()
for _, old in ipairs(redis.call('ZRANGEBYSCORE', LEXP, '-inf', now, 'LIMIT', 0, 100)) do release(old) end
local id, joined = ARGV[1], ARGV[3]
local hs = holds(joined)
for _, h in ipairs(hs) do
  if overlapping(LPATHS, h[2]) then return 0 end
  if h[1] == 'w' and overlapping(LRPATHS, h[2]) then return 0 end
end
redis.call('HSET', LEASES, id, joined)
redis.call('ZADD', LEXP, now + tonumber(ARGV[2]), id)
for _, h in ipairs(hs) do redis.call('ZADD', set_of(h[1]), 0, h[2] .. SEP .. id) end
return 1
