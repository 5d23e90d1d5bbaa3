-- A work order is done: its completion is a quality fact of the ticket
-- (counted for the partner and the technician, whatever arrived before:
-- common.lua's settle); then schedule the return visit (回访) once: open in
-- the staff's list by its due time, its first survey reminder and its
-- no-response close planned should nobody answer. A not_fixed
-- result gets no visit: the ticket waits for staff to re-dispatch it. A
-- completion of an older work order than the record's counts, but changes
-- nothing else.
-- K[1..13] (common.lua)
-- A[1] visit id, A[2] due ms, A[3] partner id, A[4] wo id, A[5] result, A[6] now,
-- A[7] ticket, A[8] when to close without an answer (no_response), A[9]
-- technician ('' none), A[10] the event's time, A[11] when to send the first
-- reminder ('' never), A[12] settings (common.lua)
if seen() then return dup() end
fact_once('g' .. gen_of(A[4]), { p = A[3], t = A[9], r = A[5], ms = tonumber(A[10]) })
settle()
local recorded = redis.call('HGET', K[1], 'wo_id')
if recorded and recorded ~= A[4] then
  if gen_of(A[4]) < gen_of(recorded) then return stale('old_work_order') end
  new_generation(A[7], A[4])
end
local state = redis.call('HGET', K[1], 'state')
if state == 'visit_scheduled' or redis.call('HEXISTS', K[1], 'partner_id') == 1 then
  return stale('visit_already_scheduled')
end
redis.call('HSET', K[1], 'visit_id', A[1], 'visit_due_ms', A[2], 'partner_id', A[3],
           'wo_id', A[4], 'result', A[5], 'completed_ms', A[6])
if state == 'closed' then return stale('already_closed') end
if A[5] == 'not_fixed' then
  redis.call('HSET', K[1], 'state', 'not_fixed')
  return ok_quiet()
end
redis.call('HSET', K[1], 'state', 'visit_scheduled', 'vstate', 'open')
redis.call('ZADD', K[3], A[8], A[7] .. '|' .. A[4])
if A[11] ~= '' then redis.call('ZADD', K[9], A[11], A[7] .. '|' .. A[4]) end
redis.call('ZADD', K[10], A[2], A[7])
return ok()
