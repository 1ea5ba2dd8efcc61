-- create-token-2.lua: stores an API token of an existing user, within the per-user limit.
--
-- KEYS[1]  users hash: name -> user JSON
-- KEYS[2]  tokens hash: token id -> token JSON
-- ARGV     token id, user, token JSON, tokensPerUserMax
-- returns  1

if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 0 then
  return fail('UNKNOWN_USER', { 'user', ARGV[2] })
end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  return fail('TOKEN_EXISTS', { 'id', ARGV[1] })
end
local owned = 0
local all = redis.call('HVALS', KEYS[2])
for i = 1, #all do
  if cjson.decode(all[i])['user'] == ARGV[2] then
    owned = owned + 1
  end
end
if owned >= arg_int(4) then
  return fail('TOKEN_LIMIT', { 'user', ARGV[2], 'tokens', owned })
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1
