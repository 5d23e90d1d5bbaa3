-- The return visit is answered, by the customer (the survey link) or by
-- staff on the phone (a visit outcome): record it, count it (a quality
-- fact of the latest completion before it, whenever that arrives:
-- common.lua), end the visit (done) and close the ticket. Once.
-- K[1..13] (common.lua)
-- A[1] score, A[2] resolved (1/0), A[3] comment, A[4] on_time ('' unknown), A[5] now,
-- A[6] ticket, A[7] the event's time, A[8] a complaint ('1' | '0'), A[9] answered
-- by ('customer' or the staff name), A[10] fault cause, A[11] repair status,
-- A[12] arrival, A[13] work quality (A[10..13] '' from a customer), A[14] settings
if seen() then return dup() end
local on_time = nil
if A[4] ~= '' then on_time = A[4] == '1' end
fact_add('s', { ms = tonumber(A[7]), score = tonumber(A[1]), resolved = A[2] == '1', on_time = on_time,
                complaint = A[8] == '1' })
settle()
if redis.call('HGET', K[1], 'state') == 'closed' then return stale('already_closed') end
end_visit(A[6], 'done')
-- Before its completion (a redelivery after a restart) there is no
-- visit yet: the completion then finds the ticket closed, answered.
redis.call('HSET', K[1], 'state', 'closed', 'vstate', 'done', 'score', A[1], 'resolved', A[2],
           'comment', A[3], 'on_time', A[4], 'complaint', A[8], 'answered_by', A[9], 'closed_ms', A[5])
local outcome = { 'fault_cause', A[10], 'repair_status', A[11], 'arrival', A[12], 'work_quality', A[13] }
for i = 1, #outcome, 2 do
  if outcome[i + 1] ~= '' then redis.call('HSET', K[1], outcome[i], outcome[i + 1]) end
end
return ok()
