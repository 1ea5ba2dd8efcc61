-- acquire-leadership-2.lua: the assigned leader takes a partition's lease when it is free,
-- expired or already its own. The leader epoch becomes max(stored, knownEpoch) + 1 and
-- {epoch, startOffset, leader} joins the epoch history.
--
-- KEYS[1]  p:{t/p}:lease   leader broker id, PX TTL
-- KEYS[2]  p:{t/p}:state   hash {tid, replicas, epoch, leader, isr, lso, hist, ...}
-- ARGV     brokerId, ttlMs, startOffset, knownEpoch, topicId, runId, notBeforeMs, epochMax, historyMax, clean
--          runId/notBeforeMs: as in acquire-controller-1.lua
--          clean (0|1): grant only to a member of the non-empty ISR whose startOffset reaches the HW;
--          a first grant (epoch 0, empty ISR) then makes every replica a member of the ISR
-- returns  {1, epoch} | {0, reason, holder, epoch, retryAfterMs}
--          reason: 'session', 'quarantine', 'not-assigned', 'held', 'not-in-isr'
--          errors BELOW_LOG_START (startOffset below the log start), EPOCH_EXHAUSTED
--
-- Entries of the history that start at or past startOffset are dropped (they cover no offset of
-- the new leader's log: Kafka's leader-epoch cache does the same), then those below the log start.

if server_run_id() ~= ARGV[6] then
  return { 0, 'session', '', '0', '0' }
end
local broker = ARGV[1]
local now = now_ms()
local h = redis.call('HMGET', KEYS[2], 'tid', 'replicas', 'epoch', 'isr', 'lso', 'hist', 'hw')
local epoch = int_field(h[3], 0, 'epoch')
local holder = redis.call('GET', KEYS[1]) or ''
local not_before = arg_int(7)
if now < not_before then
  return { 0, 'quarantine', holder, fmt(epoch), fmt(not_before - now) }
end
local replicas = split(h[2])
if h[1] ~= ARGV[5] or replicas[1] ~= broker then
  return { 0, 'not-assigned', holder, fmt(epoch), '0' }
end
if holder ~= '' and holder ~= broker then
  return { 0, 'held', holder, fmt(epoch), fmt(math.max(redis.call('PTTL', KEYS[1]), 0)) }
end
local start = arg_int(3)
local lso = int_field(h[5], 0, 'lso')
if start < lso then
  return fail('BELOW_LOG_START', { 'what', 'startOffset', 'offset', start, 'logStartOffset', lso })
end
if ARGV[10] == '1' then
  local in_isr = split(h[4])
  if (#in_isr > 0 and not contains(in_isr, broker)) or start < int_field(h[7], 0, 'hw') then
    return { 0, 'not-in-isr', holder, fmt(epoch), '0' }
  end
end
local next_epoch = math.max(epoch, arg_int(4)) + 1
if next_epoch > arg_int(8) then
  return fail('EPOCH_EXHAUSTED', {})
end
local history = history_with_reign(h[6], next_epoch, start, broker, lso, arg_int(9))
local isr = split(h[4])
local isr_text = h[4]
if ARGV[10] == '1' and epoch == 0 and #isr == 0 then
  -- A partition's first leader under clean election: every assigned replica is as empty as it
  -- is, so all are in sync (Kafka's initial ISR is the replica set).
  isr_text = h[2]
elseif not contains(isr, broker) then
  isr_text = broker
end
redis.call('SET', KEYS[1], broker, 'PX', arg_int(2))
redis.call('HSET', KEYS[2], 'epoch', fmt(next_epoch), 'leader', broker, 'isr', isr_text, 'hist', format_history(history))
return { 1, fmt(next_epoch) }
