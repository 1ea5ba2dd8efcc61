-- grow-topic-partitions-1.lua: grows a topic's partition count; never shrinks it.
--
-- KEYS[1]  topic:<name> hash {name, id, partitions, ...}
-- ARGV     name, topicId (the incarnation the caller grows), partitions (the new count)
-- returns  the topic hash after the change (HGETALL); errors UNKNOWN_TOPIC, PARTITIONS_SHRINK
-- The new partitions have no state yet: the controller assigns them as it does a new topic's.

local id = redis.call('HGET', KEYS[1], 'id')
if not id or id ~= ARGV[2] then
  return fail('UNKNOWN_TOPIC', { 'topic', ARGV[1] })
end
local current = int_field(redis.call('HGET', KEYS[1], 'partitions'), 0, 'partitions')
local wanted = arg_int(3)
if wanted < current then
  return fail('PARTITIONS_SHRINK', { 'topic', ARGV[1], 'current', current, 'partitions', wanted })
end
if wanted > current then
  redis.call('HSET', KEYS[1], 'partitions', fmt(wanted))
end
return redis.call('HGETALL', KEYS[1])
