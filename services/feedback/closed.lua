-- Staff closed the ticket without a survey answer (ticket.closed from
-- intake): the record is closed and its automatic close dropped.
-- K[1..4] (common.lua)
-- A[1] ticket, A[2] reason, A[3] now
if seen() then return dup() end
unplan_close(A[1])
if redis.call('HGET', K[1], 'state') == 'closed' then return stale('already_closed') end
redis.call('HSET', K[1], 'state', 'closed', 'closed_ms', A[3], 'close_reason', A[2])
return ok_quiet()
