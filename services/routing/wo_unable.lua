-- An accepted work order goes back to routing, pending, this partner
-- excluded: UNABLE from the partner, or the brand removed the partner
-- (reason partner_removed, not counted as a refusal).
-- K[2] rt:appt. A: partner, reason (an unable_reason word), now_ms
-- What the partner recorded (PROGRESS seqs, stage, appointment) goes with
-- it: the next partner starts at seq 1 and books its own appointment.
local st, owner = field('state'), field('partner')
if st == '' then return reject('unknown_work_order', view()) end
if owner ~= A[1] then
  if field('x.' .. A[1]) == 'unable' then return dup(view()) end
  return reject('not_yours', view())
end
if st == 'offered' then return reject('not_accepted', view()) end
if st ~= 'assigned' then return reject('bad_state', view()) end
local drop = {'last_stage', 'last_note', 'technician', 'appt_ms', 'end_ms', 'appt_changes',
              'arrived', 'missed'}
for _, f in ipairs(redis.call('HKEYS', W)) do
  if string.sub(f, 1, 2) == 's.' then drop[#drop + 1] = f end
end
redis.call('HDEL', W, unpack(drop))
redis.call('HSET', W, 'state', 'pending', 'partner', '', 'offer_id', '', 'seq', '0', 'nprog', '0',
  'x.' .. A[1], 'unable', 'returned_reason', A[2], 'returned_ms', A[3], 'updated_ms', A[3])
if A[2] ~= 'partner_removed' then redis.call('HINCRBY', W, 'refusals', 1) end
redis.call('ZREM', K[2], field('wo_id'))
return ok(view())
