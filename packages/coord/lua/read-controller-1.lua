-- read-controller-1.lua: the controller lease as of the server's clock.
--
-- KEYS[1]  controller hash {holder, epoch, expires}
-- ARGV     (none)
-- returns  {holder ("" = none), epoch, remainingMs}

local now = now_ms()
local h = redis.call('HMGET', KEYS[1], 'holder', 'epoch', 'expires')
local expires = int_field(h[3], 0, 'controller expiry')
local holder = h[1] or ''
if expires <= now or holder == '' then
  return { '', fmt(int_field(h[2], 0, 'controller epoch')), '0' }
end
return { holder, fmt(int_field(h[2], 0, 'controller epoch')), fmt(expires - now) }
