-- Sends the customer a survey reminder (visit.reminder) for a visit still
-- unanswered, once per planned reminder: only the caller that removes it
-- from the set goes on. Plans the next one while fewer than the most.
-- K[1..13] (common.lua)
-- A[1] member "<ticket>|<wo_id>", A[2] now, A[3] the most reminders, A[4]
-- the time between two
if redis.call('ZREM', K[9], A[1]) == 0 then return stale('gone') end
if redis.call('HGET', K[1], 'state') ~= 'visit_scheduled' then return stale('not_waiting_for_survey') end
local n = redis.call('HINCRBY', K[1], 'reminders', 1)
if n < tonumber(A[3]) then redis.call('ZADD', K[9], tonumber(A[2]) + tonumber(A[4]), A[1]) end
return ok()
