-- _group.lua: the consumer group protocol (KIP-848, server side), prepended by src/redis/scripts.ts
-- after _prelude.lua to the scripts that say `-- requires: _group.lua`. It is src/groups.ts in
-- Lua, function for function: read that file for the reasoning; the conformance suite holds both
-- engines to the same properties. Helpers only: no key is touched outside group_load/group_save.
--
-- A group is two keys of one slot:
--   g:{g}:meta     hash: epoch (group epoch), aepoch (assignment epoch), topics (JSON {topic: count})
--   g:{g}:members  hash: member id -> JSON {clientId, memberEpoch, previousMemberEpoch,
--                  subscribedTopics, sessionTimeoutMs, rebalanceTimeoutMs, lastHeartbeatAtMs,
--                  revokeDeadlineMs, assigned, revoking, target} (partition maps: {topic: [p...]})
-- Both are written in a fixed field order (group_encode_member), so an unchanged member is
-- byte-for-byte unchanged and is not written again.
--
-- Partition ids inside: "<topic>/<partition>" (a topic name cannot contain "/").

local function sorted_keys(t)
  local out = {}
  for k in pairs(t) do
    out[#out + 1] = k
  end
  table.sort(out)
  return out
end

local function set_of(list)
  local out = {}
  for _, v in ipairs(list) do
    out[v] = true
  end
  return out
end

local function key_of(topic, partition)
  return topic .. '/' .. fmt(partition)
end

local function split_key(key)
  local topic, partition = string.match(key, '^(.*)/(%d+)$')
  return topic, tonumber(partition)
end

local function key_less(a, b)
  local ta, pa = split_key(a)
  local tb, pb = split_key(b)
  if ta ~= tb then
    return ta < tb
  end
  return pa < pb
end

-- {topic: [p...]} (sorted lists) -> keys in topic, then partition order
local function map_keys(map)
  local out = {}
  for _, topic in ipairs(sorted_keys(map)) do
    for _, p in ipairs(map[topic]) do
      out[#out + 1] = key_of(topic, p)
    end
  end
  return out
end

local function map_from_keys(keys)
  local out = {}
  for _, key in ipairs(keys) do
    local topic, p = split_key(key)
    local list = out[topic]
    if list == nil then
      list = {}
      out[topic] = list
    end
    list[#list + 1] = p
  end
  for _, list in pairs(out) do
    table.sort(list)
  end
  return out
end

local function map_size(map)
  local n = 0
  for _, list in pairs(map) do
    n = n + #list
  end
  return n
end

local function group_encode_map(map)
  local parts = {}
  for _, topic in ipairs(sorted_keys(map)) do
    local ps = {}
    for i, p in ipairs(map[topic]) do
      ps[i] = fmt(p)
    end
    parts[#parts + 1] = cjson.encode(topic) .. ':[' .. table.concat(ps, ',') .. ']'
  end
  return '{' .. table.concat(parts, ',') .. '}'
end

local function group_encode_counts(counts)
  local parts = {}
  for _, topic in ipairs(sorted_keys(counts)) do
    parts[#parts + 1] = cjson.encode(topic) .. ':' .. fmt(counts[topic])
  end
  return '{' .. table.concat(parts, ',') .. '}'
end

local function group_encode_member(m)
  local subs = {}
  for i, t in ipairs(m.subscribedTopics) do
    subs[i] = cjson.encode(t)
  end
  return '{"clientId":' .. cjson.encode(m.clientId)
    .. ',"memberEpoch":' .. fmt(m.memberEpoch)
    .. ',"previousMemberEpoch":' .. fmt(m.previousMemberEpoch)
    .. ',"subscribedTopics":[' .. table.concat(subs, ',') .. ']'
    .. ',"sessionTimeoutMs":' .. fmt(m.sessionTimeoutMs)
    .. ',"rebalanceTimeoutMs":' .. fmt(m.rebalanceTimeoutMs)
    .. ',"lastHeartbeatAtMs":' .. fmt(m.lastHeartbeatAtMs)
    .. ',"revokeDeadlineMs":' .. fmt(m.revokeDeadlineMs)
    .. ',"assigned":' .. group_encode_map(m.assigned)
    .. ',"revoking":' .. group_encode_map(m.revoking)
    .. ',"target":' .. group_encode_map(m.target)
    .. '}'
end

local function group_decode_member(id, text)
  local ok, m = pcall(cjson.decode, text)
  if not ok or type(m) ~= 'table' or type(m.subscribedTopics) ~= 'table' or type(m.assigned) ~= 'table'
    or type(m.revoking) ~= 'table' or type(m.target) ~= 'table' then
    error('corrupt coordinator field: group member ' .. id)
  end
  for _, f in ipairs({ 'memberEpoch', 'previousMemberEpoch', 'sessionTimeoutMs', 'rebalanceTimeoutMs', 'lastHeartbeatAtMs', 'revokeDeadlineMs' }) do
    if type(m[f]) ~= 'number' then
      error('corrupt coordinator field: group member ' .. id .. ' ' .. f)
    end
  end
  if type(m.clientId) ~= 'string' then
    m.clientId = ''
  end
  return m
end

-- Everything of one group, read before any write (a corrupt field fails here).
local function group_load(meta_key, members_key)
  local h = redis.call('HMGET', meta_key, 'epoch', 'aepoch', 'topics', 'empty', 'classic')
  local g = {
    epoch = int_field(h[1], 0, 'group epoch'),
    aepoch = int_field(h[2], 0, 'assignment epoch'),
    topics = {},
    members = {},
    raw = {},
    -- When an expiry pass first saw the group without members (nil: not marked).
    empty_since = nil,
    -- The stored classic (Kafka JoinGroup) generation, as stored (nil: none) and decoded.
    classic_raw = nil,
    classic = nil,
  }
  if h[5] ~= false and h[5] ~= '' then
    local ok, classic = pcall(cjson.decode, h[5])
    if not ok or type(classic) ~= 'table' or type(classic.members) ~= 'table' or type(classic.generation) ~= 'number' then
      error('corrupt coordinator field: group classic')
    end
    g.classic_raw = h[5]
    g.classic = classic
  end
  if h[4] ~= false and h[4] ~= '' then
    g.empty_since = int_field(h[4], 0, 'group empty since')
  end
  if h[3] ~= false and h[3] ~= '' then
    local ok, topics = pcall(cjson.decode, h[3])
    if not ok or type(topics) ~= 'table' then
      error('corrupt coordinator field: group topics')
    end
    g.topics = topics
  end
  g.raw_meta = fmt(g.epoch) .. ' ' .. fmt(g.aepoch) .. ' ' .. group_encode_counts(g.topics)
  local flat = redis.call('HGETALL', members_key)
  for i = 1, #flat, 2 do
    g.members[flat[i]] = group_decode_member(flat[i], flat[i + 1])
    g.raw[flat[i]] = flat[i + 1]
  end
  return g
end

-- Members of the stored classic generation (0 without one).
local function group_classic_members(g)
  if g.classic == nil then
    return 0
  end
  return #g.classic.members
end

-- The classic member with this id, or nil.
local function group_classic_member(g, id)
  if g.classic == nil then
    return nil
  end
  for _, m in ipairs(g.classic.members) do
    if m.memberId == id then
      return m
    end
  end
  return nil
end

-- Writes what changed: removed members, changed members, the meta hash. A group with members is
-- not empty: its offsets' retention clock (the "empty" mark) starts again when it empties.
local function group_save(g, meta_key, members_key)
  if g.empty_since ~= nil and (next(g.members) ~= nil or group_classic_members(g) > 0) then
    redis.call('HDEL', meta_key, 'empty')
    g.empty_since = nil
  end
  for id in pairs(g.raw) do
    if g.members[id] == nil then
      redis.call('HDEL', members_key, id)
    end
  end
  for _, id in ipairs(sorted_keys(g.members)) do
    local text = group_encode_member(g.members[id])
    if text ~= g.raw[id] then
      redis.call('HSET', members_key, id, text)
    end
  end
  local meta = fmt(g.epoch) .. ' ' .. fmt(g.aepoch) .. ' ' .. group_encode_counts(g.topics)
  if g.epoch > 0 and meta ~= g.raw_meta then
    redis.call('HSET', meta_key, 'epoch', fmt(g.epoch), 'aepoch', fmt(g.aepoch), 'topics', group_encode_counts(g.topics))
  end
end

-- The uniform, sticky assignor (src/groups.ts assignPartitions): keep what is still valid of the
-- previous target, hand the rest to the least loaded eligible member, then move one partition at
-- a time from the most to the least loaded member that may take it until no two differ by 2+.
local function group_assign(members, topics)
  local ids = sorted_keys(members)
  local subs, held, taken = {}, {}, {}
  for _, id in ipairs(ids) do
    subs[id] = set_of(members[id].subscribedTopics)
    held[id] = {}
  end
  for _, id in ipairs(ids) do
    for _, k in ipairs(map_keys(members[id].target)) do
      local t, p = split_key(k)
      if subs[id][t] and p < (topics[t] or 0) and not taken[k] then
        taken[k] = true
        held[id][#held[id] + 1] = k
      end
    end
  end
  local total = 0
  for _, t in ipairs(sorted_keys(topics)) do
    local eligible = {}
    for _, id in ipairs(ids) do
      if subs[id][t] then
        eligible[#eligible + 1] = id
      end
    end
    if #eligible > 0 then
      total = total + topics[t]
      for p = 0, topics[t] - 1 do
        local k = key_of(t, p)
        if not taken[k] then
          local best = eligible[1]
          for _, id in ipairs(eligible) do
            if #held[id] < #held[best] then
              best = id
            end
          end
          taken[k] = true
          held[best][#held[best] + 1] = k
        end
      end
    end
  end
  local moves_max = total * math.max(1, #ids) + 1
  local moves = 0
  while true do
    if moves > moves_max then
      error('the assignor does not converge')
    end
    local order = {}
    for i, id in ipairs(ids) do
      order[i] = id
    end
    table.sort(order, function(a, b)
      if #held[a] ~= #held[b] then
        return #held[a] < #held[b]
      end
      return a < b
    end)
    local moved = false
    local i = #order
    while i >= 1 and not moved do
      local donor = held[order[i]]
      local j = 1
      while j < i and not moved do
        local receiver = order[j]
        if #donor <= #held[receiver] + 1 then
          break
        end
        local can = subs[receiver]
        local pick = nil
        for k = 1, #donor do
          local t = split_key(donor[k])
          if can[t] and (pick == nil or key_less(donor[pick], donor[k])) then
            pick = k
          end
        end
        if pick ~= nil then
          held[receiver][#held[receiver] + 1] = donor[pick]
          table.remove(donor, pick)
          moved = true
        end
        j = j + 1
      end
      i = i - 1
    end
    if not moved then
      break
    end
    moves = moves + 1
  end
  local out = {}
  for _, id in ipairs(ids) do
    out[id] = map_from_keys(held[id])
  end
  return out
end

-- The union of subscriptions, with counts: `given` wins, then 0 for `own` topics, then what was known.
local function group_next_topics(g, given, own)
  local out = {}
  for _, m in pairs(g.members) do
    for _, t in ipairs(m.subscribedTopics) do
      if given[t] ~= nil then
        out[t] = given[t]
      elseif own ~= nil and own[t] then
        out[t] = 0
      else
        out[t] = g.topics[t] or 0
      end
    end
  end
  return out
end

-- Bumps the group epoch and recomputes the target when forced or when a count changed.
-- Returns nil, or {kind, details} to refuse with.
local function group_rebalance(g, given, own, force, partitions_max)
  local topics = group_next_topics(g, given, own)
  if not force and group_encode_counts(topics) == group_encode_counts(g.topics) then
    return nil
  end
  local total = 0
  for _, c in pairs(topics) do
    total = total + c
  end
  if total > partitions_max then
    return { 'GROUP_PARTITIONS_EXCEEDED', { 'partitions', total, 'max', partitions_max } }
  end
  g.topics = topics
  g.epoch = g.epoch + 1
  local target = group_assign(g.members, topics)
  for id, m in pairs(g.members) do
    m.target = target[id]
  end
  g.aepoch = g.epoch
  return nil
end

-- Who holds each partition (assigned or revoking); fails (before any write) if two members do.
local function group_owners(g)
  local out = {}
  for _, id in ipairs(sorted_keys(g.members)) do
    local m = g.members[id]
    for _, map in ipairs({ m.assigned, m.revoking }) do
      for _, k in ipairs(map_keys(map)) do
        if out[k] ~= nil then
          error('invariant: partition ' .. k .. ' is held by both ' .. out[k] .. ' and ' .. id)
        end
        out[k] = id
      end
    end
  end
  return out
end

-- Removes members whose session, or rebalance timeout while revoking, has passed.
local function group_sweep(g, now)
  local expired = {}
  for _, id in ipairs(sorted_keys(g.members)) do
    local m = g.members[id]
    if m.lastHeartbeatAtMs + m.sessionTimeoutMs <= now or (m.revokeDeadlineMs > 0 and m.revokeDeadlineMs <= now) then
      expired[#expired + 1] = id
    end
  end
  for _, id in ipairs(expired) do
    g.members[id] = nil
  end
  if #expired > 0 then
    group_rebalance(g, {}, nil, true, math.huge)
  end
  return #expired
end

-- Moves one member toward its target: revoke first; take free partitions only with nothing to revoke.
local function group_reconcile(g, id, now, held)
  local m = g.members[id]
  local target = set_of(map_keys(m.target))
  local keep, revoking = {}, set_of(map_keys(m.revoking))
  local any_revoking = next(revoking) ~= nil
  for _, k in ipairs(map_keys(m.assigned)) do
    if target[k] then
      keep[#keep + 1] = k
    else
      revoking[k] = true
      any_revoking = true
    end
  end
  m.revoking = map_from_keys(sorted_keys(revoking))
  if any_revoking then
    m.assigned = map_from_keys(keep)
    if m.revokeDeadlineMs == 0 then
      m.revokeDeadlineMs = now + m.rebalanceTimeoutMs
    end
    return
  end
  m.revokeDeadlineMs = 0
  local mine = set_of(keep)
  for _, k in ipairs(map_keys(m.target)) do
    if not mine[k] and held[k] == nil then
      keep[#keep + 1] = k
      mine[k] = true
      held[k] = id
    end
  end
  m.assigned = map_from_keys(keep)
  if m.memberEpoch ~= g.aepoch then
    m.previousMemberEpoch = m.memberEpoch
    m.memberEpoch = g.aepoch
  end
end

-- UTF-8 bytes of the metadata in an offset's JSON ({"offset":N,"metadata":"..."}).
local function offset_metadata_bytes(json, what)
  local ok, v = pcall(cjson.decode, json)
  if not ok or type(v) ~= 'table' then
    error('corrupt coordinator field: offset ' .. what)
  end
  if type(v.metadata) ~= 'string' then
    return 0
  end
  return #v.metadata
end

-- nil when the group may store the offsets given as ARGV pairs from ARGV[first] on, else the
-- metadata bytes it would store in all (over `max`). Counted only when the write carries metadata:
-- without any, the group's total cannot grow (one HGETALL of the group's offsets otherwise).
local function offsets_metadata_refusal(key, first, max)
  local incoming = {}
  local total = 0
  for i = first, #ARGV, 2 do
    local n = offset_metadata_bytes(ARGV[i + 1], ARGV[i])
    incoming[ARGV[i]] = true
    total = total + n
  end
  if total == 0 then
    return nil
  end
  local flat = redis.call('HGETALL', key)
  for i = 1, #flat, 2 do
    if not incoming[flat[i]] then
      local json = string.match(flat[i + 1], '^%d+ (.*)$')
      if json == nil then
        error('corrupt coordinator field: offset ' .. flat[i])
      end
      total = total + offset_metadata_bytes(json, flat[i])
    end
  end
  if total > max then
    return total
  end
  return nil
end

-- Writes the offsets given as ARGV pairs ("<topic>/<partition>", JSON) from ARGV[first] on into the
-- offsets hash, each stamped with the commit time, in HSETs of at most 500 fields; returns the count.
local function write_offsets(key, now, first)
  local stamp = fmt(now) .. ' '
  local batch = {}
  local written = 0
  for i = first, #ARGV, 2 do
    batch[#batch + 1] = ARGV[i]
    batch[#batch + 1] = stamp .. ARGV[i + 1]
    written = written + 1
    if #batch >= 1000 then
      redis.call('HSET', key, unpack(batch))
      batch = {}
    end
  end
  if #batch > 0 then
    redis.call('HSET', key, unpack(batch))
  end
  return written
end
