-- classic-store-2.lua: stores a classic (Kafka JoinGroup) group's generation, written by the broker
-- that coordinates the group (expired KIP-848 members are removed first).
--
-- requires: _group.lua
-- KEYS[1]  g:{g}:meta      hash epoch, aepoch, topics, empty, classic
-- KEYS[2]  g:{g}:members   hash member id -> member JSON (KIP-848 members)
-- ARGV     the generation's JSON (ClassicGroupState), its generation, its member count
-- returns  1
--          errors INCONSISTENT_PROTOCOL (the group has KIP-848 members), ILLEGAL_GENERATION (the
--          stored generation is newer): the sweep stays applied, the generation is not written

local g = group_load(KEYS[1], KEYS[2])
group_sweep(g, now_ms())
local members = #sorted_keys(g.members)
if members > 0 then
  group_save(g, KEYS[1], KEYS[2])
  return fail('INCONSISTENT_PROTOCOL', { 'members', members, 'protocol', 'consumer' })
end
if g.classic ~= nil and g.classic.generation > arg_int(2) then
  group_save(g, KEYS[1], KEYS[2])
  return fail('ILLEGAL_GENERATION', { 'memberId', '', 'generationId', arg_int(2), 'currentGeneration', g.classic.generation })
end
group_save(g, KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'classic', ARGV[1])
if arg_int(3) > 0 then
  redis.call('HDEL', KEYS[1], 'empty')
end
return 1
