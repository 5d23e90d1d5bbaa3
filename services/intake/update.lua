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
-- The owner moves through set_owner, so the owners' queue counts follow.
for i = 1, #a.fields, 2 do
  if a.fields[i] == 'owner' then
    set_owner(a.fields[i + 1])
  else
    redis.call('HSET', K[1], a.fields[i], a.fields[i + 1])
  end
end
timeline(a.entry, a.now)
-- An owner change tells sla-timer (ticket.owner_changed); others emit none.
return ok()
