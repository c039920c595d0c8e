-- ARGV: now, path, descendants ('1'|'0') -> {json, exp, json, exp, ...}
local out = {}
for _, f in ipairs(covering(ARGV[2], ARGV[3] == '1', now_ms())) do
  out[#out + 1] = f[2]
  out[#out + 1] = f[3]
end
return out
