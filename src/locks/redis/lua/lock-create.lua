-- ARGV: now, root, scope, depth ('0'|'infinity'), token, json, timeoutMs, principal, maxPerPrincipal ('' none) -> {1,json,exp} | {0,json,exp} | {2}
local now = now_ms()
purge(now, 100)
local root, scope = ARGV[2], ARGV[3]
for _, f in ipairs(covering(root, ARGV[4] == 'infinity', now)) do
  if f[4].scope == 'exclusive' or scope == 'exclusive' then return {0, f[2], f[3]} end
end
local token, json = ARGV[5], ARGV[6]
if ARGV[9] ~= '' and tonumber(redis.call('HGET', PRINCIPALS, ARGV[8]) or '0') >= tonumber(ARGV[9]) then return {2} end
local exp = now + tonumber(ARGV[7])
redis.call('HINCRBY', PRINCIPALS, ARGV[8], 1)
redis.call('HSET', LOCKS, token, json)
redis.call('ZADD', EXPIRY, exp, token)
redis.call('ZADD', ROOTS, 0, root .. SEP .. token)
return {1, json, exp}
