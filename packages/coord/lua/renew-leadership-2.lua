-- renew-leadership-2.lua: extends the caller's live partition lease.
--
-- KEYS[1]  p:{t/p}:lease
-- KEYS[2]  p:{t/p}:state
-- ARGV     brokerId, leaderEpoch, ttlMs
-- returns  1, or 0 when the lease is not the caller's at this epoch any more (expired, taken,
--          released): the caller stops writing. An epoch newer than the stored one was granted
--          and forgotten (lost writes): it is remembered, and the renewal fails.

local fenced = fence_leader_epoch(KEYS[2], arg_int(2))
if fenced ~= nil or redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('PEXPIRE', KEYS[1], arg_int(3))
return 1
