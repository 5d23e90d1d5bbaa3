-- The customer answered the return-visit survey: record it, count it (a
-- quality fact of the latest completion before it, whenever that arrives:
-- common.lua), close the ticket. Once.
-- K[1..10] (common.lua)
-- A[1] score, A[2] resolved (1/0), A[3] comment, A[4] on_time ('' unknown), A[5] now,
-- A[6] ticket, A[7] the event's time, A[8] a complaint ('1' | '0'), A[9] settings
if seen() then return dup() end
local on_time = nil
if A[4] ~= '' then on_time = A[4] == '1' end
fact_add('s', { ms = tonumber(A[7]), score = tonumber(A[1]), resolved = A[2] == '1', on_time = on_time,
                complaint = A[8] == '1' })
settle()
if redis.call('HGET', K[1], 'state') == 'closed' then return stale('already_closed') end
unplan_close(A[6])
redis.call('HSET', K[1], 'state', 'closed', 'score', A[1], 'resolved', A[2], 'comment', A[3],
           'on_time', A[4], 'closed_ms', A[5])
return ok()
