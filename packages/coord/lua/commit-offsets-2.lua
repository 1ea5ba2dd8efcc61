-- commit-offsets-2.lua: commits a group's offsets, all or nothing, fenced by member and epoch.
--
-- KEYS[1]  g:{g}:members   hash member id -> member epoch
-- KEYS[2]  g:{g}:offsets   hash "<topic>/<partition>" -> "<committedAtMs> <json>"
-- ARGV     memberId ("" = a standalone commit, allowed only while the group has no members),
--          memberEpoch, then field, json pairs
-- returns  the number of offsets written
--          errors UNKNOWN_MEMBER, FENCED_MEMBER, NON_EMPTY_GROUP (nothing written)

if ARGV[1] == '' then
  local members = redis.call('HLEN', KEYS[1])
  if members > 0 then
    return fail('NON_EMPTY_GROUP', { 'members', members, 'what', 'standalone offset commits are allowed' })
  end
else
  local stored = redis.call('HGET', KEYS[1], ARGV[1])
  if not stored then
    return fail('UNKNOWN_MEMBER', { 'memberId', ARGV[1] })
  end
  local current = int_field(stored, 0, 'member epoch')
  if current ~= arg_int(2) then
    return fail('FENCED_MEMBER', { 'memberId', ARGV[1], 'memberEpoch', arg_int(2), 'currentEpoch', current })
  end
end
local stamp = fmt(now_ms()) .. ' '
local batch = {}
local written = 0
for i = 3, #ARGV, 2 do
  batch[#batch + 1] = ARGV[i]
  batch[#batch + 1] = stamp .. ARGV[i + 1]
  written = written + 1
  if #batch >= 1000 then
    redis.call('HSET', KEYS[2], unpack(batch))
    batch = {}
  end
end
if #batch > 0 then
  redis.call('HSET', KEYS[2], unpack(batch))
end
return written
