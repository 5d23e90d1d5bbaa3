-- Offers a pending work order (or, after a restart, re-offers one whose
-- offer was in flight) to a partner: a new attempt, never a new wo_id.
-- It leaves the unroutable queue (K[2] rt:unroutable); a supervisor's
-- override is used up by it.
-- A: partner, expected attempt, new offer_id, now_ms, choice
local st = field('state')
if st ~= 'pending' and st ~= 'offered' then return stale('not_pending', view()) end
if field('attempt') ~= A[2] then return stale('attempt_moved_on', view()) end
local n = tostring(tonumber(A[2]) + 1)
redis.call('HSET', W, 'state', 'offered', 'partner', A[1], 'attempt', n, 'offer_id', A[3],
  'o.' .. n, A[1], 'offered_ms', A[4], 'updated_ms', A[4], 'choice', A[5])
redis.call('HDEL', W, 'unroutable', 'override')
redis.call('ZREM', K[2], field('wo_id'))
return ok(view())
