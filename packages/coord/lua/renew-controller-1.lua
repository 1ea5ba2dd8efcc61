-- renew-controller-1.lua: extends the caller's live controller lease.
--
-- KEYS[1]  controller hash {holder, epoch, expires}
-- ARGV     brokerId, epoch, ttlMs
-- returns  1, or 0 when the lease is not the caller's at this epoch any more (or has expired)
--          An epoch newer than the stored one was granted and forgotten (lost writes): it is
--          remembered so that no later grant repeats it, and the renewal fails.

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
redis.call('HSET', KEYS[1], 'expires', fmt(now + arg_int(3)))
return 1
