-- allocate-producer-ids-1.lua: hands out the next block of producer ids (Kafka's KIP-730
-- AllocateProducerIds): never one handed out before, and at least the server's ms x idsPerMs, so that a
-- server that lost its last writes (see PRODUCER_IDS_PER_MS in src/coordinator.ts) does not repeat ids.
--
-- KEYS[1]  producer-id hash {next, broker (the last caller, for operators)}; no TTL
-- ARGV     brokerId, blockSize, idsPerMs
-- returns  {firstId, blockSize}

local next_id = int_field(redis.call('HGET', KEYS[1], 'next'), 0, 'next producer id')
local first = math.max(next_id, now_ms() * arg_int(3))
local size = arg_int(2)
redis.call('HSET', KEYS[1], 'next', fmt(first + size), 'broker', ARGV[1])
return { fmt(first), fmt(size) }
