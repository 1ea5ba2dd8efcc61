-- deregister-broker-2.lua: removes a broker from the live set.
--
-- KEYS[1]  brokers sorted set
-- KEYS[2]  broker:<id> hash
-- ARGV     id
-- returns  1, or 0 when it was not registered (or had expired)

local live = redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], ARGV[1])
return live
