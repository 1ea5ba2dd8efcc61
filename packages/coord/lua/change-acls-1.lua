-- change-acls-1.lua: adds or removes ACL bindings (Kafka's CreateAcls / DeleteAcls) in one step,
-- moving the version every broker's cache polls when anything changed. Adding past the most the
-- store holds adds nothing (all or nothing).
--
-- KEYS[1]  ACL hash: "v" -> version; "b:<binding key>" -> "1" (src/acls.ts, @strata/protocol aclBindingKey); no TTL
-- ARGV     op ("add" | "remove"), most bindings stored (add), binding keys...
-- returns  {changed, version}; add past the limit: {-1, stored}

local op = ARGV[1]
local limit = arg_int(2)
local version = int_field(redis.call('HGET', KEYS[1], 'v'), 0, 'acl version')
local changed = {}
for i = 3, #ARGV do
  local present = redis.call('HEXISTS', KEYS[1], 'b:' .. ARGV[i]) == 1
  if (op == 'add' and not present) or (op == 'remove' and present) then
    changed[#changed + 1] = 'b:' .. ARGV[i]
  end
end
if #changed == 0 then
  return { 0, fmt(version) }
end
if op == 'add' then
  -- The hash holds the version field beside the bindings.
  local stored = redis.call('HLEN', KEYS[1]) - (version > 0 and 1 or 0)
  if stored + #changed > limit then
    return { -1, fmt(stored) }
  end
  for _, field in ipairs(changed) do
    redis.call('HSET', KEYS[1], field, '1')
  end
else
  redis.call('HDEL', KEYS[1], unpack(changed))
end
redis.call('HSET', KEYS[1], 'v', fmt(version + 1))
return { #changed, fmt(version + 1) }
