-- ACCEPT from a partner. A: partner, offer_id, attempt named by offer_id ('0' none), now_ms
local st, owner = field('state'), field('partner')
if st == '' then return refused('unknown_work_order') end
if owner ~= A[1] then
  if A[3] ~= '0' and field('o.' .. A[3]) == A[1] then return refused('offer_expired') end
  return refused('not_yours')
end
if field('offer_id') ~= A[2] then return refused('offer_expired') end
if st ~= 'offered' then return again() end
redis.call('HSET', W, 'state', 'assigned', 'assigned_ms', A[4], 'updated_ms', A[4])
return applied()
