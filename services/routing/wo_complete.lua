-- COMPLETE from a partner. K[2] rt:open. A: partner, result, now_ms
-- A completed work order is kept for the inbox TTL to answer resends.
local st, owner = field('state'), field('partner')
if st == '' then return refused('unknown_work_order') end
if owner ~= A[1] then return refused('not_yours') end
if st == 'completed' then return again() end
if st == 'offered' then return refused('not_accepted') end
if st ~= 'assigned' then return refused('bad_state') end
redis.call('HSET', W, 'state', 'completed', 'result', A[2], 'completed_ms', A[3], 'updated_ms', A[3])
redis.call('ZREM', K[2], field('wo_id'))
if TTL > 0 then redis.call('EXPIRE', W, TTL) end
return applied()
