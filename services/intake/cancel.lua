-- Cancels a ticket before its work is done: status cancelled (terminal)
-- and ticket.cancelled, on which routing withdraws the work order,
-- sla-timer stops the clocks and notification tells the customer.
-- K[1..TK] the ticket's keys (ticket.lua)
-- A[1] map: owner_is, gen, reason, by, entry, now, completed_rank, rank
--   (of cancelled)
local a = arg(1)
local why = staff_guard(a) or terminal_reason()
if why then return reject(why) end
if rank() >= tonumber(a.completed_rank) then return reject('not_cancellable') end
set_status('cancelled', a.rank)
redis.call('HSET', K[1], 'cancel_reason', a.reason, 'cancelled_by', a.by, 'cancelled_ms', a.now,
           'waiting', '0')
timeline(a.entry, a.now)
return ok()
