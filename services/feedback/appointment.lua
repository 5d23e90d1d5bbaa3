-- workorder.appointment / workorder.appointment_missed: the partner's
-- appointment facts ('booked' for a first booking, 'late' for a change
-- inside the notice period, 'missed'), once per message; counted for the
-- technician too once the work order's completion names one (common.lua).
-- K[1..13] (common.lua)
-- A[1] partner id, A[2] the work order id, A[3] the event's time,
-- A[4]... the count fields to add one to, A[#A] settings
if seen() then return dup() end
for i = 4, #A - 1 do
  fact_add('a', { g = gen_of(A[2]), k = A[i], p = A[1], ms = tonumber(A[3]) })
end
settle()
return ok_quiet()
