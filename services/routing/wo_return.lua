-- An accepted work order goes back to routing: pending again, this
-- partner not offered it again (workorder.returned). Today the platform
-- does it when the brand removes the partner from the registry.
-- A: partner, reason (an unable_reason word), now_ms
local st = field('state')
if st == '' then return reject('unknown_work_order', view()) end
if st ~= 'assigned' or field('partner') ~= A[1] then return stale('not_assigned_to_partner', view()) end
redis.call('HSET', W, 'state', 'pending', 'partner', '', 'offer_id', '', 'updated_ms', A[3],
  'x.' .. A[1], A[2], 'returned_ms', A[3])
return ok(view())
