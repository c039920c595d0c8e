-- ARGV: now -> number dropped
local now, n = now_ms(), 0
repeat
  local k = purge(now, 500)
  n = n + k
until k < 500
return n
