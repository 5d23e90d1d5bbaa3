-- Staff's work on a return visit (from intake's API): an agent claimed it
-- (open -> assigned, moved to the assigned list), or called without
-- reaching the customer (an attempt counted; the visit stays as it is).
-- An answer is survey.lua's. Once; a visit that is not the ticket's
-- current one, or already ended, is left alone.
-- K[1..13] (common.lua)
-- A[1] 'claim' | 'attempt', A[2] visit id, A[3] who, A[4] now, A[5] ticket
if seen() then return dup() end
if redis.call('HGET', K[1], 'visit_id') ~= A[2] then return stale('unknown_visit') end
local st = redis.call('HGET', K[1], 'vstate')
if st ~= 'open' and st ~= 'assigned' then return stale('visit_ended') end
if A[1] == 'claim' then
  redis.call('HSET', K[1], 'vstate', 'assigned', 'agent', A[3], 'claimed_ms', A[4])
  redis.call('ZREM', K[10], A[5])
  redis.call('ZADD', K[11], redis.call('HGET', K[1], 'visit_due_ms'), A[5])
else
  redis.call('HINCRBY', K[1], 'attempts', 1)
  redis.call('HSET', K[1], 'last_attempt_ms', A[4], 'last_attempt_by', A[3])
end
return ok_quiet()
