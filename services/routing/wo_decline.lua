-- DECLINE from a partner. A: partner, offer_id, attempt named by offer_id ('0' none), now_ms
local st, owner = field('state'), field('partner')
if st == '' then return reject('unknown_work_order', view()) end
if owner == A[1] and field('offer_id') == A[2] then
  if st ~= 'offered' then return reject('bad_state', view()) end
  redis.call('HSET', W, 'state', 'pending', 'partner', '', 'offer_id', '', 'updated_ms', A[4],
    'x.' .. A[1], 'declined', 'd.' .. A[3], '1')
  redis.call('HINCRBY', W, 'refusals', 1)
  return ok(view())
end
if A[3] ~= '0' and field('o.' .. A[3]) == A[1] then
  if field('d.' .. A[3]) == '1' then return dup(view()) end
  return reject('offer_expired', view())
end
if owner == A[1] then return reject('offer_expired', view()) end
return reject('not_yours', view())
