-- Closes a ticket whose survey was never answered, once: only the caller
-- that removes the planned close from the set goes on (a restart or a
-- second tick racing for it finds it gone).
-- K[1..4] (common.lua)
-- A[1] member "<ticket>|<wo_id>", A[2] now
if redis.call('ZREM', K[3], A[1]) == 0 then return stale('gone') end
if redis.call('HGET', K[1], 'state') ~= 'visit_scheduled' then return stale('not_waiting_for_survey') end
redis.call('HSET', K[1], 'state', 'closed', 'closed_ms', A[2], 'close_reason', 'no_survey')
return ok()
