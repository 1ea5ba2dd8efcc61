-- revoke-token-1.lua: removes an API token, only when the named user owns it.
--
-- KEYS[1]  tokens hash: token id -> token JSON
-- ARGV     user, token id
-- returns  1 revoked, 0 no such token of that user

local token = redis.call('HGET', KEYS[1], ARGV[2])
if not token or cjson.decode(token)['user'] ~= ARGV[1] then
  return 0
end
redis.call('HDEL', KEYS[1], ARGV[2])
return 1
