-- An agent claims a return visit (feedback's, only read here): the visit
-- must be the ticket's current one and not ended; the first claim wins
-- (intake's marker, so two agents at once cannot both have it), the same
-- agent again is answered as done without a second event. visit.claimed
-- then tells feedback, which lists it as assigned (visit.lua).
-- K[1] fb:<ticket> (common/asp_visits.h), K[2] t:<ticket>:vclaim (intake's:
-- "<visit id>|<agent>")
-- A[1] visit id, A[2] agent
-- Reply: ok (emitted); ok quiet (theirs already); reject unknown_visit;
-- stale visit_ended | already_claimed
if redis.call('HGET', K[1], 'visit_id') ~= A[1] then return reject('unknown_visit') end
local st = redis.call('HGET', K[1], 'vstate')
if not st then return reject('unknown_visit') end
if st ~= 'open' and st ~= 'assigned' then return stale('visit_ended') end
local held = redis.call('GET', K[2])
local holder = held and string.sub(held, 1, #A[1] + 1) == A[1] .. '|' and string.sub(held, #A[1] + 2)
if holder == A[2] then return ok_quiet() end
if holder then return stale('already_claimed') end
redis.call('SET', K[2], A[1] .. '|' .. A[2])
return ok()
