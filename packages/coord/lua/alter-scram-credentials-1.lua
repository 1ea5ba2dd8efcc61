-- alter-scram-credentials-1.lua: changes one user's SCRAM credentials at once (Kafka's
-- AlterUserScramCredentials): removed mechanisms go, upserted credentials replace the user's of
-- their mechanism; an upsert creates a missing user (within usersMax). A removal of a credential
-- the user does not have changes nothing. A user may be left with no credential: it keeps its
-- tokens (cjson then writes its list as {}: the engine reads that back as []).
--
-- KEYS[1]  users hash: name -> user JSON
-- ARGV     name, createdAtMs (of a new user), usersMax, removed mechanisms (comma-separated),
--          upserted credentials JSON (a list; validated by the caller)
-- returns  0 missing, 1 altered, 2 created

local existing = redis.call('HGET', KEYS[1], ARGV[1])
local removed = split(ARGV[4])
local upserts = cjson.decode(ARGV[5])
local user
if existing then
  user = cjson.decode(existing)
else
  user = { name = ARGV[1], createdAtMs = arg_int(2), credentials = {} }
end

local current = user['credentials']
local function has(mechanism)
  for _, c in ipairs(current) do
    if c['mechanism'] == mechanism then
      return true
    end
  end
  return false
end
for _, m in ipairs(removed) do
  if not has(m) then
    return 0
  end
end

local touched = {}
for _, m in ipairs(removed) do
  touched[m] = true
end
for _, c in ipairs(upserts) do
  touched[c['mechanism']] = true
end
local credentials = {}
for _, c in ipairs(current) do
  if not touched[c['mechanism']] then
    credentials[#credentials + 1] = c
  end
end
for _, c in ipairs(upserts) do
  credentials[#credentials + 1] = c
end

if not existing then
  local count = redis.call('HLEN', KEYS[1])
  if count >= arg_int(3) then
    return fail('USER_LIMIT', { 'user', ARGV[1], 'users', count })
  end
end
user['credentials'] = credentials
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(user))
if existing then
  return 1
end
return 2
