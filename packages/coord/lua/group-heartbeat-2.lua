-- group-heartbeat-2.lua: a member joins (epoch 0) or heartbeats (KIP-848, server side): expired
-- members are removed, the member is checked and updated, the group epoch bumps and the target is
-- recomputed if membership, a subscription or a partition count changed, then the member is moved
-- toward its target (revocations first; a partition only once nobody else holds it).
--
-- requires: _group.lua
-- KEYS[1]  g:{g}:meta      hash epoch, aepoch, topics
-- KEYS[2]  g:{g}:members   hash member id -> member JSON
-- ARGV     memberId, memberEpoch, subscribedTopics (JSON array, "" = unchanged),
--          ownedPartitions (JSON [{topic, partitions}], "" = unchanged),
--          sessionTimeoutMs ("" = unchanged, or the default on join),
--          rebalanceTimeoutMs ("" = unchanged, or the default on join), clientId flag ("1" = given),
--          clientId, topicPartitions (JSON {topic: count}), default rebalanceTimeoutMs,
--          members max, partitions max, default sessionTimeoutMs
-- returns  {memberEpoch, groupEpoch, assignment JSON {topic: [p...]}, sessionTimeoutMs, reconciling "1"|"0"}
--          errors UNKNOWN_MEMBER, FENCED_MEMBER, GROUP_FULL, GROUP_PARTITIONS_EXCEEDED,
--          INCONSISTENT_PROTOCOL (a join while the group has classic members): the sweep
--          of expired members stays applied (it is a change of its own), nothing else is written

local id = ARGV[1]
local epoch = arg_int(2)
local now = now_ms()
local g = group_load(KEYS[1], KEYS[2])
group_sweep(g, now)

local subs = nil
if ARGV[3] ~= '' then
  local seen = set_of(cjson.decode(ARGV[3]))
  subs = sorted_keys(seen)
end
local owned = nil
if ARGV[4] ~= '' then
  owned = {}
  for _, tp in ipairs(cjson.decode(ARGV[4])) do
    for _, p in ipairs(tp.partitions) do
      owned[key_of(tp.topic, p)] = true
    end
  end
end
local given = cjson.decode(ARGV[9])

local existing = g.members[id]
local original = nil
if existing ~= nil then
  original = group_decode_member(id, group_encode_member(existing))
end
local force = false
local m
if epoch == 0 and existing == nil and group_classic_members(g) > 0 then
  group_save(g, KEYS[1], KEYS[2])
  return fail('INCONSISTENT_PROTOCOL', { 'members', group_classic_members(g), 'protocol', 'classic' })
end
if epoch == 0 then
  local count = #sorted_keys(g.members)
  if existing == nil and count >= arg_int(11) then
    group_save(g, KEYS[1], KEYS[2])
    return fail('GROUP_FULL', { 'members', count })
  end
  -- A join, or a rejoin: the member owns nothing now; its old target stays as the sticky basis.
  m = {
    clientId = '',
    memberEpoch = 0,
    previousMemberEpoch = 0,
    subscribedTopics = subs,
    sessionTimeoutMs = arg_int(13),
    rebalanceTimeoutMs = arg_int(10),
    lastHeartbeatAtMs = now,
    revokeDeadlineMs = 0,
    assigned = {},
    revoking = {},
    target = {},
  }
  if existing ~= nil then
    m.clientId = existing.clientId
    m.previousMemberEpoch = existing.memberEpoch
    m.target = existing.target
  end
  if ARGV[5] ~= '' then
    m.sessionTimeoutMs = arg_int(5)
  end
  if ARGV[6] ~= '' then
    m.rebalanceTimeoutMs = arg_int(6)
  end
  force = true
else
  if existing == nil then
    group_save(g, KEYS[1], KEYS[2])
    return fail('UNKNOWN_MEMBER', { 'memberId', id })
  end
  if epoch ~= existing.memberEpoch then
    -- KIP-848: the previous epoch passes when the member owns no more than its current assignment.
    local ok = epoch == existing.previousMemberEpoch and owned ~= nil
    if ok then
      local have = set_of(map_keys(existing.assigned))
      for k in pairs(owned) do
        if not have[k] then
          ok = false
        end
      end
    end
    if not ok then
      group_save(g, KEYS[1], KEYS[2])
      return fail('FENCED_MEMBER', { 'memberId', id, 'memberEpoch', epoch, 'currentEpoch', existing.memberEpoch })
    end
  end
  m = existing
  m.lastHeartbeatAtMs = now
  -- Omitted means unchanged (KIP-848): the default is for a join only.
  if ARGV[5] ~= '' then
    m.sessionTimeoutMs = arg_int(5)
  end
  if ARGV[6] ~= '' then
    m.rebalanceTimeoutMs = arg_int(6)
  end
  if subs ~= nil and table.concat(subs, ',') ~= table.concat(m.subscribedTopics, ',') then
    m.subscribedTopics = subs
    force = true
  end
  -- A partition the member was told to give up is released once a heartbeat leaves it out.
  if owned ~= nil then
    local still = {}
    for _, k in ipairs(map_keys(m.revoking)) do
      if owned[k] then
        still[#still + 1] = k
      end
    end
    m.revoking = map_from_keys(still)
  end
end
if ARGV[7] == '1' then
  m.clientId = ARGV[8]
end

-- A refusal from here on must leave the group as the sweep left it: the rebalance refuses before
-- it changes anything, so only the member itself is put back.
g.members[id] = m
local refusal = group_rebalance(g, given, set_of(m.subscribedTopics), force, arg_int(12))
if refusal ~= nil then
  g.members[id] = original
  group_save(g, KEYS[1], KEYS[2])
  return fail(refusal[1], refusal[2])
end
group_reconcile(g, id, now, group_owners(g))
group_owners(g)
group_save(g, KEYS[1], KEYS[2])
-- Reconciling (as groupState in groups.ts): the member is told to heartbeat sooner.
local reconciling = '0'
for _, member in pairs(g.members) do
  if member.memberEpoch ~= g.aepoch or map_size(member.revoking) > 0 or table.concat(map_keys(member.assigned), ',') ~= table.concat(map_keys(member.target), ',') then
    reconciling = '1'
  end
end
return { fmt(m.memberEpoch), fmt(g.epoch), group_encode_map(m.assigned), fmt(m.sessionTimeoutMs), reconciling }
