-- group-expire-3.lua: one group's share of an expiry pass (Kafka's offsets.retention.minutes,
-- KIP-211): expired members are removed; a group without members is marked empty (meta field
-- "empty" = when a pass first saw it so; group_save clears it once the group has members), and
-- once it has been empty for the retention, its offsets committed longer ago than the retention
-- go; a group left with neither members nor offsets is deleted.
--
-- requires: _group.lua
-- KEYS[1]  g:{g}:meta      hash epoch, aepoch, topics, empty
-- KEYS[2]  g:{g}:members   hash member id -> member JSON
-- KEYS[3]  g:{g}:offsets   hash "<topic>/<partition>" -> "<committedAtMs> <json>"
-- ARGV     offsets retention (ms)
-- returns  {deleted (1: the group is gone, 0: it stays), offsets expired}

local now = now_ms()
local retention = arg_int(1)
local g = group_load(KEYS[1], KEYS[2])
if g.epoch == 0 and g.classic == nil and redis.call('EXISTS', KEYS[2], KEYS[3]) == 0 then
  -- Nothing but maybe an empty mark: an index entry of a group that was never made, or is gone.
  redis.call('DEL', KEYS[1])
  return { 1, 0 }
end
group_sweep(g, now)
if next(g.members) ~= nil or group_classic_members(g) > 0 then
  group_save(g, KEYS[1], KEYS[2])
  return { 0, 0 }
end
-- Read and check everything before the first write.
local since = g.empty_since
local expired = {}
if since ~= nil and now - since >= retention then
  local flat = redis.call('HGETALL', KEYS[3])
  for i = 1, #flat, 2 do
    local at = tonumber(string.match(flat[i + 1], '^(%d+) '))
    if at == nil then
      error('corrupt coordinator field: offset ' .. flat[i])
    end
    if now - at >= retention then
      expired[#expired + 1] = flat[i]
    end
  end
end
group_save(g, KEYS[1], KEYS[2])
if since == nil then
  redis.call('HSET', KEYS[1], 'empty', fmt(now))
end
for i = 1, #expired, 500 do
  redis.call('HDEL', KEYS[3], unpack(expired, i, math.min(i + 499, #expired)))
end
if redis.call('EXISTS', KEYS[3]) == 0 then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  return { 1, #expired }
end
return { 0, #expired }
