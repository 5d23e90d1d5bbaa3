-- Settles a successful delivery: off the processing list, kept for as long
-- as the inbox remembers the event that made it (TTL), then gone.
-- A customer's notification tells intake (notification.delivered, the
-- candidate message the caller passes; none for others), committed here.
-- K[1] notification hash, K[2] processing list
-- A[1] notification id, A[2] now ms
redis.call('LREM', K[2], 1, A[1])
if redis.call('EXISTS', K[1]) == 0 then return stale('gone') end
local n = redis.call('HINCRBY', K[1], 'attempts', 1)
redis.call('HSET', K[1], 'state', 'delivered', 'delivered_ms', A[2])
redis.call('EXPIRE', K[1], TTL)
return ok(tostring(n))
