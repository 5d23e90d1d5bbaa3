-- Staff closed the ticket without a survey answer (ticket.closed from
-- intake): the record is closed, its visit (if still open or assigned)
-- cancelled and its timers dropped.
-- K[1..13] (common.lua)
-- A[1] ticket, A[2] reason, A[3] now
if seen() then return dup() end
end_visit(A[1], 'cancelled')
if redis.call('HGET', K[1], 'state') == 'closed' then return stale('already_closed') end
redis.call('HSET', K[1], 'state', 'closed', 'closed_ms', A[3], 'close_reason', A[2])
return ok_quiet()
