-- update-partition-2.lua: the leader's changes to ISR, high watermark and log start, fenced by
-- leader epoch. The log start only moves forward; the remote segments wholly below it leave the
-- manifest; the high watermark is kept at or above the log start.
--
-- KEYS[1]  p:{t/p}:state   hash {epoch, leader, replicas, isr, hw, lso, hist, ...}
-- KEYS[2]  p:{t/p}:segs    sorted set of segment JSON by baseOffset
-- ARGV     leaderEpoch, hasIsr (0|1), isr (comma-separated), hasHw, hw, hasLso, lso, historyMax
-- returns  {isr, hw, lso, removedSegment1, ...}
--          errors STALE_LEADER_EPOCH, FORGOTTEN_LEADER_EPOCH, INVALID_ISR, BELOW_LOG_START

local epoch = arg_int(1)
local fenced = fence_leader_epoch(KEYS[1], epoch)
if fenced ~= nil then
  return fail(fenced[1], { 'epoch', epoch, 'currentEpoch', fenced[2] })
end
local h = redis.call('HMGET', KEYS[1], 'leader', 'replicas', 'isr', 'hw', 'lso', 'hist')
local lso = int_field(h[5], 0, 'lso')
local hw = int_field(h[4], 0, 'hw')
local isr_text = h[3] or ''
if ARGV[2] == '1' then
  local replicas = split(h[2])
  local isr = split(ARGV[3])
  local ok = contains(isr, h[1] or '')
  for _, id in ipairs(isr) do
    if not contains(replicas, id) then
      ok = false
    end
  end
  if not ok then
    return fail('INVALID_ISR', { 'isr', ARGV[3], 'replicas', h[2] or '', 'leader', h[1] or '' })
  end
  isr_text = ARGV[3]
end
if ARGV[6] == '1' and arg_int(7) > lso then
  lso = arg_int(7)
end
if ARGV[4] == '1' then
  hw = arg_int(5)
  if hw < lso then
    return fail('BELOW_LOG_START', { 'what', 'highWatermark', 'offset', hw, 'logStartOffset', lso })
  end
end
if hw < lso then
  hw = lso
end
local removed = {}
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. fmt(lso))) do
  if segment_last_offset(member) < lso then
    removed[#removed + 1] = member
  end
end
local history = format_history(trim_history(parse_history(h[6]), lso, arg_int(8)))
-- Everything is checked: write.
for _, member in ipairs(removed) do
  redis.call('ZREM', KEYS[2], member)
end
redis.call('HSET', KEYS[1], 'isr', isr_text, 'hw', fmt(hw), 'lso', fmt(lso), 'hist', history)
local out = { isr_text, fmt(hw), fmt(lso) }
for _, member in ipairs(removed) do
  out[#out + 1] = member
end
return out
