-- transfer-leadership-2.lua: a leader hands its lease straight to the assigned leader
-- (replicas[0]), so a graceful hand-over never leaves the partition without a lease holder. The
-- epoch is bumped and {epoch, startOffset, successor} joins the history, as the successor's own
-- acquisition would do; the successor then takes the lease as its own (acquire-leadership-2.lua).
-- The ISR is kept, with the successor in it.
--
-- KEYS[1]  p:{t/p}:lease   leader broker id, PX TTL
-- KEYS[2]  p:{t/p}:state   hash {replicas, epoch, leader, isr, lso, hist, ...}
-- ARGV     brokerId, leaderEpoch, ttlMs, startOffset, epochMax, historyMax, expectedSuccessor ('' = any)
-- returns  {1, epoch, successor} | {0, reason, '0', ''}
--          reason: 'fenced' (the lease is not the caller's at this epoch; a forgotten epoch is
--          remembered, as in renew-leadership-2.lua), 'no-successor' (replicas[0] is the caller),
--          'successor-moved' (replicas[0] is not the expected successor)
--          errors BELOW_LOG_START, EPOCH_EXHAUSTED

local broker = ARGV[1]
local fenced = fence_leader_epoch(KEYS[2], arg_int(2))
if fenced ~= nil or redis.call('GET', KEYS[1]) ~= broker then
  return { 0, 'fenced', '0', '' }
end
local h = redis.call('HMGET', KEYS[2], 'replicas', 'epoch', 'lso', 'hist', 'isr')
local successor = split(h[1])[1]
if successor == nil or successor == '' or successor == broker then
  return { 0, 'no-successor', '0', '' }
end
if ARGV[7] ~= nil and ARGV[7] ~= '' and ARGV[7] ~= successor then
  return { 0, 'successor-moved', '0', '' }
end
local start = arg_int(4)
local lso = int_field(h[3], 0, 'lso')
if start < lso then
  return fail('BELOW_LOG_START', { 'what', 'startOffset', 'offset', start, 'logStartOffset', lso })
end
local next_epoch = int_field(h[2], 0, 'epoch') + 1
if next_epoch > arg_int(5) then
  return fail('EPOCH_EXHAUSTED', {})
end
local history = history_with_reign(h[4], next_epoch, start, successor, lso, arg_int(6))
-- The ISR is kept (as an acquisition keeps it), the successor added when it came from the bucket:
-- were it only the successor, a successor that never took the lease up (it was stopping) would
-- leave no replica electable once the lease expired.
local isr_text = h[5]
if not contains(split(h[5]), successor) then
  isr_text = (h[5] == false or h[5] == nil or h[5] == '') and successor or (successor .. ',' .. h[5])
end
redis.call('SET', KEYS[1], successor, 'PX', arg_int(3))
redis.call('HSET', KEYS[2], 'epoch', fmt(next_epoch), 'leader', successor, 'isr', isr_text, 'hist', format_history(history))
return { 1, fmt(next_epoch), successor }
