-- workorder.appointment / workorder.appointment_missed: the partner's
-- appointment counts ('booked' for a first booking, 'late' for a change
-- inside the notice period, 'missed'), once per message.
-- K[1..4] (common.lua)
-- A[1] partner id, A[2]... the count fields to add one to
if seen() then return dup() end
for i = 2, #A do count(A[1], A[i]) end
return ok_quiet()
