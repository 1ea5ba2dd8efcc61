-- register-broker-2.lua: adds (or replaces) a broker in the live set.
--
-- KEYS[1]  brokers sorted set (id scored by expiry, server ms)
-- KEYS[2]  broker:<id> hash {url, internal, rack, started, kafka}
-- ARGV     id, ttlMs, url, internalUrl, rack ("" = none), startedAtMs, kafkaAddress ("" = none)
-- returns  1

local ttl = arg_int(2)
local now = now_ms()
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'url', ARGV[3], 'internal', ARGV[4], 'rack', ARGV[5], 'started', ARGV[6], 'kafka', ARGV[7] or '')
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('ZADD', KEYS[1], fmt(now + ttl), ARGV[1])
return 1
