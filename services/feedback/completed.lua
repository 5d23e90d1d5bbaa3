-- A work order is done: schedule the return visit (回访) once.
-- K[1] the ticket's feedback record, K[2] the partner's score record
-- A[1] visit id, A[2] due ms, A[3] partner id, A[4] wo id, A[5] result, A[6] now
if seen() then return dup() end
local state = redis.call('HGET', K[1], 'state')
if state == 'closed' then
  -- The survey came first (redelivery order): close stays; count for the
  -- partner now what each message would have counted in the usual order:
  -- this one's completed, the survey's surveys, score_sum and resolved.
  if not redis.call('HGET', K[1], 'partner_id') and A[3] ~= '' then
    redis.call('HSET', K[1], 'partner_id', A[3], 'wo_id', A[4], 'result', A[5], 'completed_ms', A[6])
    local score = redis.call('HGET', K[1], 'score')
    redis.call('HINCRBY', K[2], 'completed', 1)
    redis.call('HINCRBY', K[2], 'surveys', 1)
    redis.call('HINCRBY', K[2], 'score_sum', score)
    if redis.call('HGET', K[1], 'resolved') == '1' then redis.call('HINCRBY', K[2], 'resolved', 1) end
  end
  return stale('already closed')
end
if state then return stale('visit already scheduled') end
redis.call('HSET', K[1], 'state', 'visit_scheduled', 'visit_id', A[1], 'visit_due_ms', A[2],
           'partner_id', A[3], 'wo_id', A[4], 'result', A[5], 'completed_ms', A[6])
redis.call('HINCRBY', K[2], 'completed', 1)
return ok()
