-- An appointment whose deadline passed without on_site or COMPLETE:
-- workorder.appointment_missed, once. K[2] rt:appt.
-- A: wo_id, now_ms, partner and appt_ms the event names
local wo = A[1]
local due = redis.call('ZSCORE', K[2], wo)
if not due or tonumber(due) > tonumber(A[2]) then return stale('not_due', view()) end
if field('state') ~= 'assigned' or field('arrived') == '1' or field('appt_ms') == ''
   or field('missed') == field('appt_ms') then
  redis.call('ZREM', K[2], wo)
  return stale('not_missed', view())
end
if field('partner') ~= A[3] or field('appt_ms') ~= A[4] then return stale('appointment_moved', view()) end
redis.call('HSET', W, 'missed', A[4], 'missed_ms', A[2])
redis.call('ZREM', K[2], wo)
return ok(view())
