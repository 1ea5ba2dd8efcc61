-- list-brokers-1.lua: the live broker ids, dropping the expired ones.
--
-- KEYS[1]  brokers sorted set (id scored by expiry, server ms)
-- ARGV     (none)
-- returns  {nowMs, id1, expiresAtMs1, id2, expiresAtMs2, ...} ordered by expiry

local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', fmt(now))
local live = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local out = { fmt(now) }
for i = 1, #live, 2 do
  out[#out + 1] = live[i]
  out[#out + 1] = fmt(tonumber(live[i + 1]))
end
return out
