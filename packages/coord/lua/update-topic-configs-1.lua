-- update-topic-configs-1.lua: patches a topic's config overrides, all or nothing.
--
-- KEYS[1]  topic:<name> hash (configs are the fields "c:<config>")
-- ARGV     configsMax, n (fields to delete), n field names, then field, value pairs to set
-- returns  the topic hash after the change (HGETALL); errors UNKNOWN_TOPIC, TOO_MANY_CONFIGS

if redis.call('EXISTS', KEYS[1]) == 0 then
  return fail('UNKNOWN_TOPIC', {})
end
local max = arg_int(1)
local n = arg_int(2)
local removed = {}
for i = 3, 2 + n do
  removed[ARGV[i]] = true
end
local present = {}
local count = 0
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(field, 1, 2) == 'c:' and not removed[field] then
    present[field] = true
    count = count + 1
  end
end
local set = {}
for i = 3 + n, #ARGV, 2 do
  set[#set + 1] = ARGV[i]
  set[#set + 1] = ARGV[i + 1]
  if not present[ARGV[i]] then
    count = count + 1
  end
end
if count > max then
  return fail('TOO_MANY_CONFIGS', { 'count', count, 'max', max })
end
for i = 3, 2 + n do
  redis.call('HDEL', KEYS[1], ARGV[i])
end
if #set > 0 then
  redis.call('HSET', KEYS[1], unpack(set))
end
return redis.call('HGETALL', KEYS[1])
