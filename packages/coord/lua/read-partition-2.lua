-- read-partition-2.lua: one consistent read of a partition's lease and state.
--
-- KEYS[1]  p:{t/p}:lease
-- KEYS[2]  p:{t/p}:state
-- ARGV     (none)
-- returns  {leaseHolder ("" = none), leaseRemainingMs, field1, value1, ...} (no fields: no state)

local holder = redis.call('GET', KEYS[1])
local out = { '', '0' }
if holder then
  out[1] = holder
  out[2] = fmt(math.max(redis.call('PTTL', KEYS[1]), 0))
end
for _, v in ipairs(redis.call('HGETALL', KEYS[2])) do
  out[#out + 1] = v
end
return out
