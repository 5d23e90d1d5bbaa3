-- Changes fields a supervisor may change (priority, tier, owner). Priority
-- and tier (a.before_completion '1') only while the work is not done: they
-- decide how fast a partner must come, which no longer means anything
-- once it came.
-- K[1..TK] the ticket's keys (ticket.lua)
-- A[1] map: owner_is, gen, before_completion, fields (field, value, ...),
--   entry, now, completed_rank
local a = arg(1)
local why = staff_guard(a) or terminal_reason()
if why then return reject(why) end
if a.before_completion == '1' and rank() >= tonumber(a.completed_rank) then
  return reject('too_late_to_change')
end
redis.call('HSET', K[1], unpack(a.fields))
timeline(a.entry, a.now)
return ok_quiet()
