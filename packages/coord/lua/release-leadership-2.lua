-- release-leadership-2.lua: gives a partition's lease up (the epoch and its history stay).
--
-- KEYS[1]  p:{t/p}:lease
-- KEYS[2]  p:{t/p}:state
-- ARGV     brokerId, leaderEpoch
-- returns  1, or 0 when the lease was not the caller's at this epoch (a forgotten epoch is
--          remembered, as in renew-leadership-2.lua)

local fenced = fence_leader_epoch(KEYS[2], arg_int(2))
if fenced ~= nil or redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
return 1
