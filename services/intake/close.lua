-- Closes a ticket whose work is done without a survey answer (e.g. the
-- customer never answered the return visit): status closed and
-- ticket.closed for sla-timer, notification and feedback (which then
-- forgets its automatic close).
-- K[1..TK] the ticket's keys (ticket.lua)
-- A[1] map: owner_is, gen, reason, by, entry, now, completed_rank, rank
--   (of closed), staff_handled ('1': a consultation or complaint, closed
--   whenever staff answered it)
local a = arg(1)
local why = staff_guard(a) or terminal_reason()
if why then return reject(why) end
-- Staff-handled tickets (consultation, complaint) have no field work to wait for.
if a.staff_handled ~= '1' and rank() < tonumber(a.completed_rank) then return reject('not_completed') end
set_status('closed', a.rank)
redis.call('HSET', K[1], 'close_reason', a.reason, 'closed_by', a.by, 'closed_ms', a.now,
           'waiting', '0')
timeline(a.entry, a.now)
return ok()
