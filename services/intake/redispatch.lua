-- Sends a ticket back to dispatch with a new work order (generation
-- a.new_gen, wo_id a.new_wo): routing withdraws the old one if it is still
-- open and offers the new one (ticket.redispatched). Late events of the
-- old work order then stay on the timeline without moving the ticket
-- (event.lua).
--   mode 'reopen': a closed ticket whose fault came back within
--     a.window_ms of closing; counted as a repeat repair.
--   mode 'redispatch': the partner reported not_fixed, or cannot
--     complete the work it accepted (assigned, in progress).
-- K[1..TK] the ticket's keys (ticket.lua), K[TK+1] the survey marker
-- A[1] map: owner_is, gen, mode, new_gen, new_wo, window_ms, reason, by,
--   entry, now
local a = arg(1)
local why = staff_guard(a)
if why then return reject(why) end
local st = redis.call('HGET', K[1], 'status')
if a.mode == 'reopen' then
  if st ~= 'closed' then return reject('not_reopenable') end
  local closed = tonumber(redis.call('HGET', K[1], 'closed_ms') or '0')
  if tonumber(a.now) - closed > tonumber(a.window_ms) then return reject('reopen_window_passed') end
  redis.call('HINCRBY', K[1], 'repeat_repairs', 1)
else
  why = terminal_reason()
  if why then return reject(why) end
  local result = redis.call('HGET', K[1], 'result')
  if result ~= 'not_fixed' and st ~= 'assigned' and st ~= 'in_progress' then
    return reject('not_redispatchable')
  end
end
-- The new work order has no partner, dispatch, appointment or return yet,
-- and the old one leaves the unroutable queue.
redis.call('HDEL', K[1], 'partner_id', 'result', 'score', 'closed_ms', 'close_reason', 'closed_by',
           'dispatch', 'appointment', 'appointment_missed', 'returned_ms')
clear_unroutable()
set_flag('waiting', 'wait_customer', '0')
set_flag('waiting_parts', 'wait_parts', '0')
redis.call('HSET', K[1], 'gen', a.new_gen, 'wo_id', a.new_wo, 'redispatched_ms', a.now)
redis.call('DEL', K[TK + 1])
set_status('received', 0)
timeline(a.entry, a.now)
return ok()
