-- Ops asked (intake's API: notification.replay) to send a dead letter
-- again: off the dead list, back to pending with its attempts reset; the
-- workers then deliver it as any other, under the same id (receivers
-- drop a repeat). Once per command (the inbox); a notification that is
-- not dead any more (replayed already, or gone) is stale: nothing done.
-- K[1] notification hash, K[2] dead list, K[3] pending list
-- A[1] notification id, A[2] now ms, A[3] who asked
if seen() then return dup() end
if redis.call('HGET', K[1], 'state') ~= 'dead' then return stale('not_dead') end
redis.call('LREM', K[2], 1, A[1])
redis.call('HINCRBY', K[1], 'replays', 1)
redis.call('HSET', K[1], 'state', 'queued', 'attempts', 0, 'replayed_ms', A[2], 'replayed_by', A[3])
redis.call('LPUSH', K[3], A[1])
return ok_quiet()
