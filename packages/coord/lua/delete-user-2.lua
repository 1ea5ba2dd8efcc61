-- delete-user-2.lua: removes a user and every API token it owns, at once (a token of a deleted
-- user must never authenticate). The tokens hash is bounded (usersMax x tokensPerUserMax).
--
-- KEYS[1]  users hash: name -> user JSON
-- KEYS[2]  tokens hash: token id -> token JSON
-- ARGV     name
-- returns  1 deleted, 0 no such user

if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then
  return 0
end
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  if cjson.decode(all[i + 1])['user'] == ARGV[1] then
    redis.call('HDEL', KEYS[2], all[i])
  end
end
return 1
