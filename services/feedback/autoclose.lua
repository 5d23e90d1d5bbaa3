-- Closes a ticket whose return visit nobody answered in time (no survey,
-- no staff outcome), once: only the caller that removes the planned close
-- from the set goes on (a restart or a second tick racing for it finds it
-- gone). The visit ends no_response.
-- K[1..13] (common.lua)
-- A[1] member "<ticket>|<wo_id>", A[2] now, A[3] ticket
if redis.call('ZREM', K[3], A[1]) == 0 then return stale('gone') end
if redis.call('HGET', K[1], 'state') ~= 'visit_scheduled' then return stale('not_waiting_for_survey') end
end_visit(A[3], 'no_response')
redis.call('HSET', K[1], 'state', 'closed', 'closed_ms', A[2], 'close_reason', 'no_response')
return ok()
