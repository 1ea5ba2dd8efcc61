-- commit-segment-2.lua: makes an uploaded segment visible in the partition's remote manifest.
-- Fenced by the uploader's leader epoch; contiguous (DESIGN.md §1 invariant 4): baseOffset must
-- be the manifest's end, except for the first segment, which may start anywhere at or past the
-- log start (and moves the log start there). The same segment again is a no-op (a retry).
--
-- KEYS[1]  p:{t/p}:state   hash {epoch, lso, hw, mepoch, ...}
-- KEYS[2]  p:{t/p}:segs    sorted set: segment JSON (lastOffset first) scored by baseOffset
-- ARGV     epoch, baseOffset, lastOffset, segment JSON
-- returns  {logStartOffset, endOffset}
--          errors STALE_LEADER_EPOCH, FORGOTTEN_LEADER_EPOCH, NOT_CONTIGUOUS

local epoch = arg_int(1)
local fenced = fence_leader_epoch(KEYS[1], epoch)
if fenced ~= nil then
  return fail(fenced[1], { 'epoch', epoch, 'currentEpoch', fenced[2] })
end
local h = redis.call('HMGET', KEYS[1], 'lso', 'hw', 'mepoch')
local lso = int_field(h[1], 0, 'lso')
local base = arg_int(2)
local last = arg_int(3)
local tail = redis.call('ZRANGE', KEYS[2], -1, -1)
local end_offset = lso
if #tail > 0 then
  end_offset = segment_last_offset(tail[1]) + 1
end
if redis.call('ZSCORE', KEYS[2], ARGV[4]) then
  return { fmt(lso), fmt(end_offset) }
end
if (#tail > 0 and base ~= end_offset) or (#tail == 0 and base < lso) then
  return fail('NOT_CONTIGUOUS', { 'baseOffset', base, 'lastOffset', last, 'endOffset', end_offset })
end
if #tail == 0 then
  lso = base
end
local hw = math.max(int_field(h[2], 0, 'hw'), lso)
local mepoch = math.max(int_field(h[3], 0, 'mepoch'), epoch)
redis.call('ZADD', KEYS[2], fmt(base), ARGV[4])
redis.call('HSET', KEYS[1], 'lso', fmt(lso), 'hw', fmt(hw), 'mepoch', fmt(mepoch))
return { fmt(lso), fmt(last + 1) }
