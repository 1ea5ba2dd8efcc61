-- _prelude.lua: helpers prepended by src/redis/scripts.ts to every script in this directory, so
-- that each script stays one self-contained EVALSHA. Helpers only: no key is touched here.
--
-- Rules every script follows:
-- * Read and check everything first, write last: Redis never rolls a script back, so a script
--   that fails must fail before its first write (the only deliberate exception is the
--   forgotten-epoch floor, see remember_epoch).
-- * Numbers leave Lua only through fmt(): tostring() and Redis' own number conversion keep 14
--   significant digits, which would corrupt offsets past 10^14.
-- * Time is the server's (TIME), never the caller's clock.
-- * Errors are "STRATA <KIND> <json>" replies; src/errors.ts maps each KIND to a StrataError.

local function fmt(n)
  return string.format('%.0f', n)
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The run id of the server executing this script: it changes on every restart and failover.
local function server_run_id()
  return string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
end

-- A stored integer field: absent -> default; present but not a number -> an error (before any write).
local function int_field(value, default, what)
  if value == false or value == nil or value == '' then
    return default
  end
  local n = tonumber(value)
  if n == nil then
    error('corrupt coordinator field ' .. what .. ': ' .. tostring(value))
  end
  return n
end

-- An integer argument (validated by the caller; checked again because a bad one must not be stored).
local function arg_int(i)
  local n = tonumber(ARGV[i])
  if n == nil then
    error('ARGV[' .. i .. '] is not a number: ' .. tostring(ARGV[i]))
  end
  return n
end

-- A comma-separated list of ids ("" or absent: empty).
local function split(list)
  local out = {}
  if list == false or list == nil or list == '' then
    return out
  end
  for item in string.gmatch(list, '[^,]+') do
    out[#out + 1] = item
  end
  return out
end

local function contains(list, x)
  for _, v in ipairs(list) do
    if v == x then
      return true
    end
  end
  return false
end

-- An error reply: "STRATA <KIND> {json}"; kv is a flat list k1, v1, k2, v2, ...
local function fail(kind, kv)
  local parts = {}
  for i = 1, #kv, 2 do
    local v = kv[i + 1]
    if type(v) == 'number' then
      v = fmt(v)
    else
      v = cjson.encode(tostring(v))
    end
    parts[#parts + 1] = cjson.encode(kv[i]) .. ':' .. v
  end
  return redis.error_reply('STRATA ' .. kind .. ' {' .. table.concat(parts, ',') .. '}')
end

-- Epoch history: "epoch:startOffset:leader" entries joined by ",", oldest first.
local function parse_history(text)
  local out = {}
  if text == false or text == nil or text == '' then
    return out
  end
  for entry in string.gmatch(text, '[^,]+') do
    local e, s, l = string.match(entry, '^(%d+):(%d+):(.*)$')
    if e == nil then
      error('corrupt epoch history entry: ' .. entry)
    end
    out[#out + 1] = { tonumber(e), tonumber(s), l }
  end
  return out
end

local function format_history(entries)
  local parts = {}
  for i, e in ipairs(entries) do
    parts[i] = fmt(e[1]) .. ':' .. fmt(e[2]) .. ':' .. e[3]
  end
  return table.concat(parts, ',')
end

-- Drops the entries that cover no retained offset (the next entry starts at or below the log
-- start), then the oldest past `max`; the newest entry always stays.
local function trim_history(entries, log_start, max)
  local first = 1
  while first < #entries and entries[first + 1][2] <= log_start do
    first = first + 1
  end
  if #entries - first + 1 > max then
    first = #entries - max + 1
  end
  local out = {}
  for i = first, #entries do
    out[#out + 1] = entries[i]
  end
  return out
end

-- The history once a new reign {epoch, start, leader} begins: entries starting at or past `start`
-- cover no offset of the new leader's log and go (as Kafka's leader-epoch cache), then trim_history.
local function history_with_reign(history_text, epoch, start, leader, log_start, max)
  local history = {}
  for _, e in ipairs(parse_history(history_text)) do
    if e[2] < start then
      history[#history + 1] = e
    end
  end
  history[#history + 1] = { epoch, start, leader }
  return trim_history(history, log_start, max)
end

-- A remote segment member is JSON written by src/redis/codec.ts with lastOffset as its first field.
local function segment_last_offset(member)
  local last = string.match(member, '^{"lastOffset":(%d+),')
  if last == nil then
    error('corrupt manifest member: ' .. string.sub(member, 1, 80))
  end
  return tonumber(last)
end

-- The fencing rule of every write a leader makes. Returns nil when `epoch` is the current one and
-- has a leader, or {kind, currentEpoch} to refuse with. An epoch newer than the stored one was
-- granted and then forgotten (a restart or failover lost recent writes): it is remembered, with
-- no leader, so that no later acquisition grants it again and no writer of it passes again. That
-- is the one write a refusing script makes, on purpose.
local function fence_leader_epoch(state_key, epoch)
  local h = redis.call('HMGET', state_key, 'epoch', 'leader')
  local current = int_field(h[1], 0, 'epoch')
  if epoch > current then
    redis.call('HSET', state_key, 'epoch', fmt(epoch), 'leader', '')
    return { 'FORGOTTEN_LEADER_EPOCH', current }
  end
  if epoch < current then
    return { 'STALE_LEADER_EPOCH', current }
  end
  if h[2] == false or h[2] == '' then
    return { 'FORGOTTEN_LEADER_EPOCH', current }
  end
  return nil
end
