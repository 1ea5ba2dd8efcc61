-- put-user-1.lua: creates a user or replaces its credentials, keeping the first createdAtMs;
-- a new user past the limit is refused.
--
-- KEYS[1]  users hash: name -> user JSON
-- ARGV     name, user JSON, usersMax
-- returns  1 created, 0 replaced

local existing = redis.call('HGET', KEYS[1], ARGV[1])
local user = cjson.decode(ARGV[2])
if existing then
  user['createdAtMs'] = cjson.decode(existing)['createdAtMs']
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(user))
  return 0
end
local count = redis.call('HLEN', KEYS[1])
if count >= arg_int(3) then
  return fail('USER_LIMIT', { 'user', ARGV[1], 'users', count })
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
