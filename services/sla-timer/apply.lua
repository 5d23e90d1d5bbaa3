-- Applies one decision the tick took on a read of a ticket's clock hash
-- (sla_fire.c): fire a phase, re-arm a clock, settle a late clock's
-- compensation, retarget it, or drop a member that stands for nothing.
-- Only the caller whose ZREM removes the member acts, and only when the
-- clock is still as it was read (state, generation, next phase): a timer
-- fires once, whatever the races, restarts and stale in-memory entries.
-- K[1] the shard's due set, K[2] the ticket's clock hash
-- arg(1): { m = member, now = ms (the member must be due by then),
--           drop = true (just remove m), c = clock, st = state read,
--           g = generation read, x = next phase read ('' none),
--           set = { field, value, ... }, del = { field, ... },
--           add = member to add ('' none), at = its score }
local d = arg(1)
local score = redis.call('ZSCORE', K[1], d.m)
if not score then return stale('gone') end
if tonumber(score) > tonumber(d.now) then return stale('not_due') end
if d.drop then
  redis.call('ZREM', K[1], d.m)
  return ok_quiet()
end
local c = d.c
-- The guard's three fields in one read.
local r = redis.call('HMGET', K[2], c, c .. ':gen', c .. ':nx')
if (r[1] or '') ~= d.st or (r[2] or '') ~= d.g or (r[3] or '') ~= d.x then return stale('changed') end
redis.call('ZREM', K[1], d.m)
if #d.del > 0 then redis.call('HDEL', K[2], unpack(d.del)) end
if #d.set > 0 then redis.call('HSET', K[2], unpack(d.set)) end
if d.add ~= '' then redis.call('ZADD', K[1], d.at, d.add) end
return ok()
