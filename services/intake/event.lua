-- Applies an event from another service to a ticket: timeline entry, status
-- (which only moves forward: events may arrive out of order after restarts)
-- and extra fields.
-- K[1] ticket hash, K[2] timeline list
-- A[1] rank of the status this event implies (0: none), A[2] that status,
-- A[3] timeline entry (JSON), A[4] now ms, A[5..] field, value pairs
if redis.call('EXISTS', K[1]) == 0 then return reject('unknown ticket') end
if seen() then return dup() end
redis.call('RPUSH', K[2], A[3])
local rank = tonumber(A[1])
local current = tonumber(redis.call('HGET', K[1], 'rank') or '0')
if rank > current then
  redis.call('HSET', K[1], 'status', A[2], 'rank', A[1])
end
redis.call('HSET', K[1], 'updated_ms', A[4])
for i = 5, #A, 2 do redis.call('HSET', K[1], A[i], A[i + 1]) end
return ok()
