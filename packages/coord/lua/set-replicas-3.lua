-- set-replicas-3.lua: the controller's assignment of a partition's replicas (replicas[1] is the
-- assigned leader), fenced by controller epoch. A state left by an earlier topic of the same
-- name (another topic id) is reset first; its leader epoch counter carries over, so an epoch
-- never repeats on this key.
--
-- KEYS[1]  p:{t/p}:lease   (deleted on reset)
-- KEYS[2]  p:{t/p}:state   hash {tid, replicas, cepoch, epoch, leader, isr, hw, lso, hist, mepoch}
-- KEYS[3]  p:{t/p}:segs    (deleted on reset)
-- ARGV     topicId, replicas (comma-separated), controllerEpoch
-- returns  1 (updated) or 2 (a fresh state for this topic id); errors STALE_CONTROLLER_EPOCH

local h = redis.call('HMGET', KEYS[2], 'tid', 'cepoch', 'epoch')
local stored_cepoch = int_field(h[2], 0, 'cepoch')
local cepoch = arg_int(3)
if cepoch < stored_cepoch then
  return fail('STALE_CONTROLLER_EPOCH', { 'epoch', cepoch, 'currentEpoch', stored_cepoch })
end
if h[1] == ARGV[1] then
  redis.call('HSET', KEYS[2], 'replicas', ARGV[2], 'cepoch', fmt(cepoch))
  return 1
end
local epoch = int_field(h[3], 0, 'epoch')
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('HSET', KEYS[2], 'tid', ARGV[1], 'replicas', ARGV[2], 'cepoch', fmt(cepoch), 'epoch', fmt(epoch),
  'leader', '', 'isr', '', 'hw', '0', 'lso', '0', 'hist', '', 'mepoch', '0')
return 2
