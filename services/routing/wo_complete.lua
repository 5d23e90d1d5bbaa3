-- COMPLETE from a partner. K[2] rt:open, K[3] rt:appt.
-- A: partner, result, now_ms, details (map: resolution, fee, technician)
-- A completed work order is kept for the inbox TTL to answer resends.
local st, owner = field('state'), field('partner')
if st == '' then return reject('unknown_work_order', view()) end
if owner ~= A[1] then return reject('not_yours', view()) end
if st == 'completed' then return dup(view()) end
if st == 'offered' then return reject('not_accepted', view()) end
if st ~= 'assigned' then return reject('bad_state', view()) end
redis.call('HSET', W, 'state', 'completed', 'result', A[2], 'completed_ms', A[3], 'updated_ms', A[3])
local d = arg(4)
for _, f in ipairs({'resolution', 'fee', 'technician'}) do
  if d[f] then redis.call('HSET', W, f, d[f]) end
end
redis.call('ZREM', K[2], field('wo_id'))
redis.call('ZREM', K[3], field('wo_id'))
if TTL > 0 then redis.call('EXPIRE', W, TTL) end
return ok(view())
