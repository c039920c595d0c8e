-- Shared by every lock script: key names, time, index maintenance, the covering walk.
local LOCKS, EXPIRY, ROOTS, PRINCIPALS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local SEP, TOP = '\0', '\255'
local function now_ms()
  local n = tonumber(ARGV[1])
  if n then return n end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function principal_of(l)
  if type(l.principal) == 'string' then return l.principal end
  return ''
end
local function drop(token)
  local json = redis.call('HGET', LOCKS, token)
  if json then
    local l = cjson.decode(json)
    redis.call('ZREM', ROOTS, l.root .. SEP .. token)
    redis.call('HDEL', LOCKS, token)
    if redis.call('HINCRBY', PRINCIPALS, principal_of(l), -1) <= 0 then redis.call('HDEL', PRINCIPALS, principal_of(l)) end
  end
  redis.call('ZREM', EXPIRY, token)
  return json and 1 or 0
end
local function purge(now, limit)
  local old = redis.call('ZRANGEBYSCORE', EXPIRY, '-inf', now, 'LIMIT', 0, limit)
  for _, t in ipairs(old) do drop(t) end
  return #old
end
local function parent(p)
  local i = string.find(p, '/[^/]*$')
  if i == 1 then return '/' end
  return string.sub(p, 1, i - 1)
end
-- members of ROOTS rooted exactly at p
local function at(p)
  return redis.call('ZRANGEBYLEX', ROOTS, '[' .. p .. SEP, '[' .. p .. SEP .. TOP)
end
-- members of ROOTS rooted strictly below p
local function below(p)
  if p == '/' then return redis.call('ZRANGEBYLEX', ROOTS, '(/' .. SEP .. TOP, '+') end
  return redis.call('ZRANGEBYLEX', ROOTS, '[' .. p .. '/', '[' .. p .. '/' .. TOP)
end
local function token_of(member)
  return string.sub(member, string.find(member, SEP, 1, true) + 1)
end
-- live locks whose scope includes path (MemoryLockManager order: the path, its ancestors, then
-- with descendants the locks rooted below it); each entry is {token, json, expiresAt, decoded}
local function covering(path, descendants, now)
  local out = {}
  local function consider(member, need_infinity)
    local token = token_of(member)
    local exp = redis.call('ZSCORE', EXPIRY, token)
    if exp and tonumber(exp) > now then
      local json = redis.call('HGET', LOCKS, token)
      if json then
        local l = cjson.decode(json)
        if (not need_infinity) or l.depth == 'infinity' then out[#out + 1] = {token, json, tonumber(exp), l} end
      end
    end
  end
  local p, first = path, true
  while true do
    for _, m in ipairs(at(p)) do consider(m, not first) end
    if p == '/' then break end
    p, first = parent(p), false
  end
  if descendants then
    for _, m in ipairs(below(path)) do consider(m, false) end
  end
  return out
end
