-- Shared by every lease script (critical sections across instances).
local LEASES, LEXP, LPATHS, LRPATHS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local SEP, TOP = '\0', '\255'
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- "w/a\0r/b" -> {{'w','/a'},{'r','/b'}}
local function holds(joined)
  local out, start = {}, 1
  while true do
    local i = string.find(joined, SEP, start, true)
    local h = string.sub(joined, start, (i or 0) - 1)
    out[#out + 1] = {string.sub(h, 1, 1), string.sub(h, 2)}
    if not i then break end
    start = i + 1
  end
  return out
end
local function set_of(mode)
  if mode == 'r' then return LRPATHS end
  return LPATHS
end
local function release(id)
  local joined = redis.call('HGET', LEASES, id)
  if joined then
    for _, h in ipairs(holds(joined)) do redis.call('ZREM', set_of(h[1]), h[2] .. SEP .. id) end
    redis.call('HDEL', LEASES, id)
  end
  redis.call('ZREM', LEXP, id)
end
-- true when a lease in zset z holds path, an ancestor of it or a descendant
local function overlapping(z, path)
  local p = path
  while true do
    if #redis.call('ZRANGEBYLEX', z, '[' .. p .. SEP, '[' .. p .. SEP .. TOP, 'LIMIT', 0, 1) > 0 then return true end
    if p == '/' then break end
    local i = string.find(p, '/[^/]*$')
    if i == 1 then p = '/' else p = string.sub(p, 1, i - 1) end
  end
  local lo, hi = '[' .. path .. '/', '[' .. path .. '/' .. TOP
  if path == '/' then lo, hi = '(/' .. SEP .. TOP, '+' end
  return #redis.call('ZRANGEBYLEX', z, lo, hi, 'LIMIT', 0, 1) > 0
end
