-- heartbeat-broker-2.lua: extends a live registration.
--
-- KEYS[1]  brokers sorted set
-- KEYS[2]  broker:<id> hash
-- ARGV     id, ttlMs
-- returns  1, or 0 when the registration expired or never existed (register again)

if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 0
end
local ttl = arg_int(2)
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('ZADD', KEYS[1], fmt(now_ms() + ttl), ARGV[1])
return 1
