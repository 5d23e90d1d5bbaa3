-- Puts a claimed notification back to wait, without counting an attempt:
-- its recipient is over the rate limit until A[2].
-- K[1] notification hash, K[2] processing list, K[3] retry set
-- A[1] notification id, A[2] due ms
redis.call('LREM', K[2], 1, A[1])
if redis.call('EXISTS', K[1]) == 0 then return stale('gone') end
redis.call('HSET', K[1], 'state', 'deferred', 'due_ms', A[2])
redis.call('ZADD', K[3], A[2], A[1])
return {'ok', 0, 'deferred'}
