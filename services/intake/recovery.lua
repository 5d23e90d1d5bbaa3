-- A service-recovery record opened or changed (intake_recovery.h): the
-- record as the handler built it, its entry in the shard's index, a
-- timeline entry on the ticket, and recovery.recorded when the handler
-- added it. Guarded by the record's revision as the handler read it, so
-- two changes of one record never both apply on the same read.
-- K[1..TK] the ticket's keys (ticket.lua), K[TK + 1] the ticket's records
-- (hash: record id -> JSON), K[TK + 2] the shard's index (zset: opened_ms
-- -> "<ticket>|<record id>")
-- A[1] map: rid, rev_was ('' for a new record), record (JSON), opened_ms,
--   member, entry (timeline JSON), now, max (records per ticket)
local a = arg(1)
if redis.call('EXISTS', K[1]) == 0 then return reject('unknown_ticket') end
local cur = redis.call('HGET', K[TK + 1], a.rid)
if a.rev_was == '' then
  if cur then return reject('recovery_changed') end
  if redis.call('HLEN', K[TK + 1]) >= tonumber(a.max) then return reject('too_many_recoveries') end
else
  if not cur then return reject('unknown_recovery') end
  if string.format('%d', cjson.decode(cur).rev) ~= a.rev_was then return reject('recovery_changed') end
end
redis.call('HSET', K[TK + 1], a.rid, a.record)
redis.call('ZADD', K[TK + 2], a.opened_ms, a.member)
timeline(a.entry, a.now)
return ok()
