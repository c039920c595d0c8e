-- ARGV: now, path, below ('1': only locks rooted strictly below path) -> number dropped
local path, n = ARGV[2], 0
if ARGV[3] == '1' then
  for _, m in ipairs(below(path)) do n = n + drop(token_of(m)) end
  return n
end
if path == '/' then
  for _, t in ipairs(redis.call('HKEYS', LOCKS)) do n = n + drop(t) end
  for _, t in ipairs(redis.call('ZRANGE', EXPIRY, 0, -1)) do drop(t) end
  return n
end
for _, m in ipairs(at(path)) do n = n + drop(token_of(m)) end
for _, m in ipairs(below(path)) do n = n + drop(token_of(m)) end
return n
