-- load-manifest-2.lua: one consistent read of a partition's remote manifest.
--
-- KEYS[1]  p:{t/p}:state   hash {lso, mepoch, ...}
-- KEYS[2]  p:{t/p}:segs    sorted set of segment JSON by baseOffset
-- ARGV     (none)
-- returns  {manifestEpoch, logStartOffset, segment1, segment2, ...} in baseOffset order

local h = redis.call('HMGET', KEYS[1], 'mepoch', 'lso')
local out = { fmt(int_field(h[1], 0, 'mepoch')), fmt(int_field(h[2], 0, 'lso')) }
for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  out[#out + 1] = member
end
return out
