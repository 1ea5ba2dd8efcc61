-- group-admit-1.lua: adds a group to the index of groups, unless that would pass the limit on
-- groups (issue #10: any client could create groups without limit). Every call that may create a
-- group (a join, a standalone commit, a reset) runs this first, so a group that exists is always
-- in the index and the index never holds more than the limit, bar the re-adds of deleteGroup
-- and of an expiry pass that raced a join (a group that exists must stay listed).
--
-- KEYS[1]  {cluster}:groups   set: group ids
-- ARGV     group, groups max
-- returns  1 (the group is listed: it already was, or is now)
--          errors GROUP_LIMIT (nothing written)

if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then
  return 1
end
local count = redis.call('SCARD', KEYS[1])
if count >= arg_int(2) then
  return fail('GROUP_LIMIT', { 'groups', count, 'max', arg_int(2) })
end
redis.call('SADD', KEYS[1], ARGV[1])
return 1
