-- A supervisor sends the ticket's current work order to a partner they
-- name: the timeline says who and why, and ticket.override tells routing
-- (which withdraws any offer and offers the work order there). Only an
-- open field work order can be sent: the ticket's type has field work,
-- its work is not done, and it has not ended.
-- K[1..TK] the ticket's keys (ticket.lua)
-- A[1] map: owner_is, gen (staff_guard), entry, now, field_work ('1'),
--   completed_rank
local a = arg(1)
local why = staff_guard(a)
if why then return reject(why) end
if terminal_reason() or a.field_work ~= '1' or rank() >= tonumber(a.completed_rank) then
  return reject('no_open_work_order')
end
timeline(a.entry, a.now)
return ok()
