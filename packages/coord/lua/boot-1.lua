-- boot-1.lua: notices a restart, failover or loss of the backend, and starts the quarantine.
--
-- KEYS[1]  boot hash {run, boot, since, until, prev}
-- ARGV[1]  a fresh random boot id (stored only when the hash is missing: everything was lost)
-- ARGV[2]  quarantine (ms): how long no lease is granted after a new server run id is first seen
-- returns  {runId, bootId, sinceMs, untilMs, nowMs, previousRunId, changed 0|1, created 0|1}
--          (times are server ms; sinceMs = when this run id was first seen)
--
-- The run id changes on every restart and failover, which are exactly the events that can lose
-- the last writes (AOF everysec, asynchronous replication). Recording when the new run id was
-- first seen, in the backend, makes every client (even one that starts later) agree on when the
-- quarantine ends.

local run = server_run_id()
local now = now_ms()
local h = redis.call('HMGET', KEYS[1], 'run', 'boot', 'since', 'until', 'prev')
if h[1] == run then
  return { run, h[2], h[3], h[4], fmt(now), h[5] or '', 0, 0 }
end
local created = 0
local boot = h[2]
if boot == false then
  boot = ARGV[1]
  created = 1
end
local until_ms = now + arg_int(2)
local prev = h[1] or ''
redis.call('HSET', KEYS[1], 'run', run, 'boot', boot, 'since', fmt(now), 'until', fmt(until_ms), 'prev', prev)
return { run, boot, fmt(now), fmt(until_ms), fmt(now), prev, 1, created }
