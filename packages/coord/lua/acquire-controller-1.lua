-- acquire-controller-1.lua: takes the controller lease when it is free, expired or the caller's;
-- every grant bumps the controller epoch past both the stored one and the caller's known one.
--
-- KEYS[1]  controller hash {holder, epoch, expires (server ms)}; no TTL: the epoch must outlive leases
-- ARGV     brokerId, ttlMs, knownEpoch, runId, notBeforeMs, epochMax
--          runId/notBeforeMs: the server run id the caller checked (boot-1.lua) and the end of its
--          quarantine; a different run id means a restart since: the caller checks again
-- returns  {1, epoch} | {0, reason, holder, epoch, retryAfterMs}
--          reason: 'session' (run id changed: re-check), 'quarantine', 'held'

if server_run_id() ~= ARGV[4] then
  return { 0, 'session', '', '0', '0' }
end
local now = now_ms()
local h = redis.call('HMGET', KEYS[1], 'holder', 'epoch', 'expires')
local epoch = int_field(h[2], 0, 'controller epoch')
local expires = int_field(h[3], 0, 'controller expiry')
local holder = h[1] or ''
if expires <= now then
  holder = ''
end
local not_before = arg_int(5)
if now < not_before then
  return { 0, 'quarantine', holder, fmt(epoch), fmt(not_before - now) }
end
if holder ~= '' and holder ~= ARGV[1] then
  return { 0, 'held', holder, fmt(epoch), fmt(expires - now) }
end
local next_epoch = math.max(epoch, arg_int(3)) + 1
if next_epoch > arg_int(6) then
  return fail('EPOCH_EXHAUSTED', {})
end
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'epoch', fmt(next_epoch), 'expires', fmt(now + arg_int(2)))
return { 1, fmt(next_epoch) }
