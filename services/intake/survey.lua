-- Takes a customer's survey answer once, only after the work is completed,
-- and passes it to feedback.
-- K[1] ticket hash, K[2] timeline list, K[3] survey marker
-- A[1] now ms, A[2] timeline entry (JSON), A[3] rank of 'completed'
if redis.call('EXISTS', K[1]) == 0 then return reject('unknown_ticket') end
if redis.call('EXISTS', K[3]) == 1 then return stale('already_answered') end
local rank = tonumber(redis.call('HGET', K[1], 'rank') or '0')
if rank < tonumber(A[3]) then return stale('not_completed') end
redis.call('SET', K[3], A[1])
redis.call('RPUSH', K[2], A[2])
redis.call('HSET', K[1], 'updated_ms', A[1])
return ok()
