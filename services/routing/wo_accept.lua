-- ACCEPT from a partner. A: partner, offer_id, attempt named by offer_id ('0' none), now_ms
local st, owner = field('state'), field('partner')
if st == '' then return reject('unknown_work_order', view()) end
if owner ~= A[1] then
  if A[3] ~= '0' and field('o.' .. A[3]) == A[1] then return reject('offer_expired', view()) end
  return reject('not_yours', view())
end
if field('offer_id') ~= A[2] then return reject('offer_expired', view()) end
if st ~= 'offered' then return dup(view()) end
redis.call('HSET', W, 'state', 'assigned', 'assigned_ms', A[4], 'updated_ms', A[4])
return ok(view())
