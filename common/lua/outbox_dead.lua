-- A receiver refused a message for good (NAK): move it from the outbox to
-- the dead letters in one step, so it is never lost between the two and
-- never resent once moved.
-- K[1] outbox hash, K[2] dead-letter hash, K[3] dead-letter reasons hash
-- A[1] message id, A[2] reason
local msg = redis.call('HGET', K[1], A[1])
if not msg then return stale('gone') end
redis.call('HSET', K[2], A[1], msg)
redis.call('HSET', K[3], A[1], A[2])
redis.call('HDEL', K[1], A[1])
return ok_quiet()
