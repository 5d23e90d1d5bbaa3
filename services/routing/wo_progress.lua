-- PROGRESS from a partner. A: partner, seq, stage, now_ms
local st, owner = field('state'), field('partner')
if st == '' then return reject('unknown_work_order', view()) end
if owner ~= A[1] then return reject('not_yours', view()) end
-- Offered to this partner but its ACCEPT of the current offer is not
-- recorded yet (e.g. it crossed a re-offer): retryable, not final.
if st == 'offered' then return reject('not_accepted', view()) end
if redis.call('HEXISTS', W, 's.' .. A[2]) == 1 then return dup(view()) end
if st ~= 'assigned' then return reject('bad_state', view()) end
if (tonumber(field('nprog')) or 0) >= 1000 then return reject('bad_state', view()) end
redis.call('HSET', W, 's.' .. A[2], A[3], 'updated_ms', A[4])
redis.call('HINCRBY', W, 'nprog', 1)
if tonumber(A[2]) > (tonumber(field('seq')) or 0) then redis.call('HSET', W, 'seq', A[2]) end
return ok(view())
