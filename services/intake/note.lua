-- A staff note on the timeline; it changes nothing else and tells no one.
-- K[1..TK] the ticket's keys (ticket.lua)
-- A[1] map: owner_is, gen (staff_guard), entry (timeline JSON), now
local a = arg(1)
local why = staff_guard(a)
if why then return reject(why) end
timeline(a.entry, a.now)
return ok_quiet()
