-- The customer answered the return-visit survey: record it, score the
-- partner (when known yet: see completed.lua), close the ticket. Once.
-- K[1..4] (common.lua)
-- A[1] score, A[2] resolved (1/0), A[3] comment, A[4] on_time ('' unknown), A[5] now,
-- A[6] ticket
if seen() then return dup() end
if redis.call('HGET', K[1], 'state') == 'closed' then return stale('already_closed') end
unplan_close(A[6])
redis.call('HSET', K[1], 'state', 'closed', 'score', A[1], 'resolved', A[2], 'comment', A[3],
           'on_time', A[4], 'closed_ms', A[5])
local partner = redis.call('HGET', K[1], 'partner_id')
if partner then count_survey(partner) end
return ok()
