-- group-leave-2.lua: a member leaves; its partitions are free for their new owners at once, the
-- group epoch bumps and the target is recomputed. Expired members are removed first.
--
-- requires: _group.lua
-- KEYS[1]  g:{g}:meta      hash epoch, aepoch, topics
-- KEYS[2]  g:{g}:members   hash member id -> member JSON
-- ARGV     memberId
-- returns  1 if the member was there, else 0

local g = group_load(KEYS[1], KEYS[2])
group_sweep(g, now_ms())
local left = 0
if g.members[ARGV[1]] ~= nil then
  g.members[ARGV[1]] = nil
  group_rebalance(g, {}, nil, true, math.huge)
  left = 1
end
group_owners(g)
group_save(g, KEYS[1], KEYS[2])
return left
