-- ARGV: id, leaseMs -> 1 renewed | 0 lost
if redis.call('HEXISTS', LEASES, ARGV[1]) == 0 then return 0 end
redis.call('ZADD', LEXP, now_ms() + tonumber(ARGV[2]), ARGV[1])
return 1
