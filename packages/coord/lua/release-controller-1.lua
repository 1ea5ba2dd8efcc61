-- release-controller-1.lua: gives the controller lease up (the epoch stays).
--
-- KEYS[1]  controller hash {holder, epoch, expires}
-- ARGV     brokerId, epoch
-- returns  1, or 0 when the lease was not the caller's live lease at this epoch

local now = now_ms()
local h = redis.call('HMGET', KEYS[1], 'holder', 'epoch', 'expires')
local stored = int_field(h[2], 0, 'controller epoch')
local epoch = arg_int(2)
if epoch > stored then
  redis.call('HSET', KEYS[1], 'holder', '', 'epoch', fmt(epoch), 'expires', '0')
  return 0
end
if epoch ~= stored or h[1] ~= ARGV[1] or int_field(h[3], 0, 'controller expiry') <= now then
  return 0
end
redis.call('HSET', KEYS[1], 'holder', '', 'expires', '0')
return 1
