-- Waiting for the customer (a.waiting '1') or resumed ('0'): a flag on
-- the ticket and ticket.waiting / ticket.resumed for sla-timer (whose
-- clocks may pause meanwhile).
-- K[1..TK] the ticket's keys (ticket.lua)
-- A[1] map: owner_is, gen, waiting ('1' | '0'), entry, now
local a = arg(1)
local why = staff_guard(a) or terminal_reason()
if why then return reject(why) end
local waiting = redis.call('HGET', K[1], 'waiting') == '1'
if a.waiting == '1' and waiting then return reject('already_waiting') end
if a.waiting == '0' and not waiting then return reject('not_waiting') end
set_flag('waiting', 'wait_customer', a.waiting)
redis.call('HSET', K[1], 'waiting_ms', a.now)
timeline(a.entry, a.now)
return ok()
