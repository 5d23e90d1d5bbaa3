-- PROGRESS from a partner. K[2] rt:appt (the shard's booked appointments).
-- A: partner, seq, stage, now_ms, details (map: note, technician, and for a
-- booking appt, end, prev (appt_ms as read when the txn was built), late
-- ('1'/'0'), deadline (score in rt:appt))
local st, owner = field('state'), field('partner')
if st == '' then return reject('unknown_work_order', view()) end
if owner ~= A[1] then return reject('not_yours', view()) end
-- Offered to this partner but its ACCEPT of the current offer is not
-- recorded yet (e.g. it crossed a re-offer): retryable, not final.
if st == 'offered' then return reject('not_accepted', view()) end
if redis.call('HEXISTS', W, 's.' .. A[2]) == 1 then return dup(view()) end
if st ~= 'assigned' then return reject('bad_state', view()) end
if (tonumber(field('nprog')) or 0) >= 1000 then return reject('bad_state', view()) end
local d = arg(5)
-- A booking is built from the appointment Redis had: if another one got in
-- first (same batch), nothing is applied and the partner resends.
if d.appt and (field('appt_ms') ~= d.prev or tonumber(A[2]) <= (tonumber(field('seq')) or 0)) then
  return stale('appointment_moved', view())
end
redis.call('HSET', W, 's.' .. A[2], A[3], 'updated_ms', A[4])
redis.call('HINCRBY', W, 'nprog', 1)
if tonumber(A[2]) > (tonumber(field('seq')) or 0) then
  redis.call('HSET', W, 'seq', A[2], 'last_stage', A[3])
  if d.note then redis.call('HSET', W, 'last_note', d.note) end
  if d.technician then redis.call('HSET', W, 'technician', d.technician) end
end
local wo = field('wo_id')
if d.appt then
  local changes = 0
  if d.prev ~= '' then changes = (tonumber(field('appt_changes')) or 0) + 1 end
  redis.call('HSET', W, 'appt_ms', d.appt, 'end_ms', d['end'], 'appt_changes', changes,
    'arrived', '0', 'missed', '')
  if d.late == '1' then redis.call('HINCRBY', W, 'appt_late', 1) end
  redis.call('ZADD', K[2], d.deadline, wo)
elseif A[3] == 'on_site' then
  redis.call('HSET', W, 'arrived', '1')
  redis.call('ZREM', K[2], wo)
end
return ok(view())
