-- Staff record a return visit's outcome: the customer answered on the
-- phone (reached: the one answer of the visit, as their own survey would
-- be, so the survey marker is set and either comes second with
-- already_answered) or was not reached (an attempt). The visit
-- (feedback's, only read here) must be the ticket's current one and not
-- ended; an agent records only a visit they claimed, a lead any. The
-- event (survey.submitted or visit.attempted) tells feedback.
-- K[1] t:<ticket>, K[2] its timeline (ticket.lua's K[1], K[2]), K[3]
-- t:<ticket>:survey, K[4] fb:<ticket> (common/asp_visits.h), K[5]
-- t:<ticket>:vclaim (visit_claim.lua)
-- A[1] visit id, A[2] who, A[3] '1' a lead, A[4] '1' reached, A[5] now,
-- A[6] timeline entry (JSON)
-- Reply: ok (emitted); reject unknown_visit; stale visit_ended |
-- already_answered | not_claimed
if redis.call('EXISTS', K[1]) == 0 then return reject('unknown_visit') end
if redis.call('HGET', K[4], 'visit_id') ~= A[1] then return reject('unknown_visit') end
local st = redis.call('HGET', K[4], 'vstate')
if not st then return reject('unknown_visit') end
-- Answered (by either side) before ended: a second answer is told so.
if redis.call('EXISTS', K[3]) == 1 then return stale('already_answered') end
if st ~= 'open' and st ~= 'assigned' then return stale('visit_ended') end
if A[3] ~= '1' and redis.call('GET', K[5]) ~= A[1] .. '|' .. A[2] then return stale('not_claimed') end
if A[4] == '1' then redis.call('SET', K[3], A[5]) end
timeline(A[6], A[5])
return ok()
