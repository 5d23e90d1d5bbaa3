-- Settles a failed delivery attempt: a retry at A[5], or a dead letter after
-- the last allowed attempt or when the receiver refused it for good.
-- K[1] notification hash, K[2] processing list, K[3] retry set, K[4] dead list
-- A[1] notification id, A[2] now ms, A[3] error, A[4] max attempts,
-- A[5] retry due ms, A[6] '1' when permanent
-- Reply: ok, emitted, 'retry' | 'dead', attempts so far. A dead letter
-- commits the caller's candidate message (notification.dead for a
-- customer's notification); a retry commits nothing.
redis.call('LREM', K[2], 1, A[1])
if redis.call('EXISTS', K[1]) == 0 then return stale('gone') end
local n = redis.call('HINCRBY', K[1], 'attempts', 1)
redis.call('HSET', K[1], 'last_error', A[3], 'last_attempt_ms', A[2])
if A[6] == '1' or n >= tonumber(A[4]) then
  redis.call('HSET', K[1], 'state', 'dead', 'dead_ms', A[2])
  redis.call('LPUSH', K[4], A[1])
  emit()
  return {'ok', 1, 'dead', tostring(n)}
end
redis.call('HSET', K[1], 'state', 'retry', 'retry_ms', A[5])
redis.call('ZADD', K[3], A[5], A[1])
return {'ok', 0, 'retry', tostring(n)}
