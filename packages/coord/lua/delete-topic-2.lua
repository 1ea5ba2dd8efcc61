-- delete-topic-2.lua: removes a topic from the catalogue (its partitions' keys live in other
-- slots: the caller deletes them next, and set-replicas/acquire-leadership refuse leftovers of
-- an earlier incarnation by topic id).
--
-- KEYS[1]  topics hash (collision key -> topic name)
-- KEYS[2]  topic:<name> hash
-- ARGV     name, collision key
-- returns  the partition count the topic had, or 0 when it did not exist

local partitions = redis.call('HGET', KEYS[2], 'partitions')
if not partitions then
  return 0
end
if redis.call('HGET', KEYS[1], ARGV[2]) == ARGV[1] then
  redis.call('HDEL', KEYS[1], ARGV[2])
end
redis.call('DEL', KEYS[2])
return int_field(partitions, 0, 'partitions')
