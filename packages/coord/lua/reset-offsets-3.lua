-- reset-offsets-3.lua: sets a group's offsets, all or nothing, only while it has no members
-- (expired members are removed first).
--
-- requires: _group.lua
-- KEYS[1]  g:{g}:meta      hash epoch, aepoch, topics
-- KEYS[2]  g:{g}:members   hash member id -> member JSON
-- KEYS[3]  g:{g}:offsets   hash "<topic>/<partition>" -> "<committedAtMs> <json>"
-- ARGV     group metadata max bytes, then field, json pairs
-- returns  the number of offsets written; errors NON_EMPTY_GROUP, GROUP_METADATA_TOO_LARGE (the
--          sweep stays applied, no offset is written)

local now = now_ms()
local g = group_load(KEYS[1], KEYS[2])
group_sweep(g, now)
group_save(g, KEYS[1], KEYS[2])
local members = #sorted_keys(g.members) + group_classic_members(g)
if members > 0 then
  return fail('NON_EMPTY_GROUP', { 'members', members, 'what', 'offsets can be reset' })
end
local too_large = offsets_metadata_refusal(KEYS[3], 2, arg_int(1))
if too_large ~= nil then
  return fail('GROUP_METADATA_TOO_LARGE', { 'bytes', too_large, 'max', arg_int(1) })
end
return write_offsets(KEYS[3], now, 2)
