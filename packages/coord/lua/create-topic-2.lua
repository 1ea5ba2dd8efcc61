-- create-topic-2.lua: creates a topic, all or nothing.
--
-- KEYS[1]  topics hash (collision key -> topic name)
-- KEYS[2]  topic:<name> hash {name, id, partitions, rf, created, c:<config> ...}
-- ARGV     name, collision key, then field, value pairs of the topic hash
-- returns  1; errors TOPIC_EXISTS, TOPIC_COLLISION (nothing written)

local existing = redis.call('HGET', KEYS[1], ARGV[2])
if existing == ARGV[1] or redis.call('EXISTS', KEYS[2]) == 1 then
  return fail('TOPIC_EXISTS', { 'topic', ARGV[1] })
end
if existing then
  return fail('TOPIC_COLLISION', { 'topic', ARGV[1], 'existing', existing })
end
local fields = {}
for i = 3, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], unpack(fields))
return 1
