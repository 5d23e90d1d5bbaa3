-- Staff record a return visit's outcome: the customer answered on the
-- phone (reached: the one answer of the visit, as their own survey would
-- be, so the survey marker is set and either comes second with
-- already_answered) or was not reached (an attempt). The visit
-- (feedback's, only read here) must be the ticket's current one and not
-- ended; an agent records only a visit they claimed, a lead any. The
-- event (survey.submitted or visit.attempted) tells feedback.
-- K[1..TK] the ticket's keys (ticket.lua), K[TK+1] t:<ticket>:survey,
-- K[TK+2] fb:<ticket> (common/asp_visits.h), K[TK+3] t:<ticket>:vclaim
-- (visit_claim.lua)
-- A[1] visit id, A[2] who, A[3] '1' a lead, A[4] '1' reached, A[5] now,
-- A[6] timeline entry (JSON)
-- Reply: ok (emitted); reject unknown_visit; stale visit_ended |
-- already_answered | not_claimed
local survey, visit, vclaim = K[TK + 1], K[TK + 2], K[TK + 3]
if redis.call('EXISTS', K[1]) == 0 then return reject('unknown_visit') end
if redis.call('HGET', visit, 'visit_id') ~= A[1] then return reject('unknown_visit') end
local st = redis.call('HGET', visit, 'vstate')
if not st then return reject('unknown_visit') end
-- Answered (by either side) before ended: a second answer is told so.
if redis.call('EXISTS', survey) == 1 then return stale('already_answered') end
if st ~= 'open' and st ~= 'assigned' then return stale('visit_ended') end
if A[3] ~= '1' and redis.call('GET', vclaim) ~= A[1] .. '|' .. A[2] then return stale('not_claimed') end
if A[4] == '1' then redis.call('SET', survey, A[5]) end
timeline(A[6], A[5])
return ok()
