-- group-describe-3.lua: a group as it is now (expired members are removed first: a write).
--
-- requires: _group.lua
-- KEYS[1]  g:{g}:meta      hash epoch, aepoch, topics
-- KEYS[2]  g:{g}:members   hash member id -> member JSON
-- KEYS[3]  g:{g}:offsets   hash (only whether it exists)
-- ARGV     (none)
-- returns  {} when the group has neither state nor offsets, else
--          {groupEpoch, assignmentEpoch, topics JSON, classic JSON ("" without), member id, member JSON, ...}

local g = group_load(KEYS[1], KEYS[2])
if g.epoch == 0 and g.classic == nil and redis.call('EXISTS', KEYS[3]) == 0 then
  return {}
end
group_sweep(g, now_ms())
group_owners(g)
group_save(g, KEYS[1], KEYS[2])
local out = { fmt(g.epoch), fmt(g.aepoch), group_encode_counts(g.topics), g.classic_raw or '' }
for _, id in ipairs(sorted_keys(g.members)) do
  out[#out + 1] = id
  out[#out + 1] = group_encode_member(g.members[id])
end
return out
