-- reset-offsets-2.lua: sets a group's offsets, all or nothing, only while it has no members.
--
-- KEYS[1]  g:{g}:members   hash member id -> member epoch
-- KEYS[2]  g:{g}:offsets   hash "<topic>/<partition>" -> "<committedAtMs> <json>"
-- ARGV     field, json pairs
-- returns  the number of offsets written; errors NON_EMPTY_GROUP (nothing written)

local members = redis.call('HLEN', KEYS[1])
if members > 0 then
  return fail('NON_EMPTY_GROUP', { 'members', members, 'what', 'offsets can be reset' })
end
local stamp = fmt(now_ms()) .. ' '
local batch = {}
local written = 0
for i = 1, #ARGV, 2 do
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
