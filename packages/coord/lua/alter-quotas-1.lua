-- alter-quotas-1.lua: sets and removes client quota values, all or none (quotas.ts). A change
-- that would leave more than the bound of values stored changes nothing.
--
-- KEYS[1]  quota hash: "<entity key>\t<quota key>" -> value (a decimal number); no TTL
-- ARGV     valuesMax, then pairs of (field, value); an empty value removes the field
-- returns  1 when applied, 0 when refused (the bound)

local added = 0
for i = 2, #ARGV, 2 do
  if ARGV[i + 1] ~= '' and redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 then
    added = added + 1
  end
end
if redis.call('HLEN', KEYS[1]) + added > arg_int(1) then
  return 0
end
for i = 2, #ARGV, 2 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', KEYS[1], ARGV[i])
  else
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
return 1
