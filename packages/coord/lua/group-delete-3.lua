-- group-delete-3.lua: deletes a group's state and offsets, only while it has no members
-- (expired members are removed first).
--
-- requires: _group.lua
-- KEYS[1]  g:{g}:meta      hash epoch, aepoch, topics
-- KEYS[2]  g:{g}:members   hash member id -> member JSON
-- KEYS[3]  g:{g}:offsets   hash "<topic>/<partition>" -> "<committedAtMs> <json>"
-- ARGV     (none)
-- returns  1 if there was anything to delete, else 0
--          errors NON_EMPTY_GROUP (the sweep stays applied, nothing else is written)

local g = group_load(KEYS[1], KEYS[2])
group_sweep(g, now_ms())
local members = #sorted_keys(g.members) + group_classic_members(g)
if members > 0 then
  group_save(g, KEYS[1], KEYS[2])
  return fail('NON_EMPTY_GROUP', { 'members', members, 'what', 'it can be deleted' })
end
return redis.call('DEL', KEYS[1], KEYS[2], KEYS[3]) > 0 and 1 or 0
