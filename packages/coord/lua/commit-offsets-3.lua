-- commit-offsets-3.lua: commits a group's offsets, all or nothing, fenced by member and epoch.
-- Expired members are removed first, so a member whose session expired (a zombie) cannot commit.
--
-- requires: _group.lua
-- KEYS[1]  g:{g}:meta      hash epoch, aepoch, topics
-- KEYS[2]  g:{g}:members   hash member id -> member JSON
-- KEYS[3]  g:{g}:offsets   hash "<topic>/<partition>" -> "<committedAtMs> <json>"
-- ARGV     memberId ("" = a standalone commit, allowed only while the group has no members of
--          either protocol), memberEpoch or classic generation, "epoch" | "generation" (which one
--          ARGV[2] is), group metadata max bytes, then field, json pairs
-- returns  the number of offsets written
--          errors UNKNOWN_MEMBER, FENCED_MEMBER, ILLEGAL_GENERATION, NON_EMPTY_GROUP,
--          GROUP_METADATA_TOO_LARGE (the sweep stays applied, no offset is written)

local now = now_ms()
local g = group_load(KEYS[1], KEYS[2])
group_sweep(g, now)
group_save(g, KEYS[1], KEYS[2])
if ARGV[1] == '' then
  local members = #sorted_keys(g.members) + group_classic_members(g)
  if members > 0 then
    return fail('NON_EMPTY_GROUP', { 'members', members, 'what', 'standalone offset commits are allowed' })
  end
elseif ARGV[3] == 'generation' then
  local m = group_classic_member(g, ARGV[1])
  if m == nil then
    return fail('UNKNOWN_MEMBER', { 'memberId', ARGV[1] })
  end
  if g.classic.generation ~= arg_int(2) then
    return fail('ILLEGAL_GENERATION', { 'memberId', ARGV[1], 'generationId', arg_int(2), 'currentGeneration', g.classic.generation })
  end
else
  local m = g.members[ARGV[1]]
  if m == nil then
    return fail('UNKNOWN_MEMBER', { 'memberId', ARGV[1] })
  end
  if m.memberEpoch ~= arg_int(2) then
    return fail('FENCED_MEMBER', { 'memberId', ARGV[1], 'memberEpoch', arg_int(2), 'currentEpoch', m.memberEpoch })
  end
end
local too_large = offsets_metadata_refusal(KEYS[3], 5, arg_int(4))
if too_large ~= nil then
  return fail('GROUP_METADATA_TOO_LARGE', { 'bytes', too_large, 'max', arg_int(4) })
end
return write_offsets(KEYS[3], now, 5)
