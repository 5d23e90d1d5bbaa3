-- sla.warning / sla.breached / sla.compensation of a partner's clock: a
-- quality fact of the ticket, counted against the partner (and technician) whose work
-- order was current at the event's time, once that is known (common.lua).
-- K[1..13] (common.lua)
-- A[1] 'w' (a warning), 'b' (a breach) or 'm' (a compensation), A[2] the event's time,
-- A[3] the clock, A[4] the amount (minor units; '0' for a breach), A[5] settings
if seen() then return dup() end
if A[1] == 'b' or A[1] == 'w' then
  fact_add(A[1], { ms = tonumber(A[2]), clock = A[3] })
else
  fact_add('m', { ms = tonumber(A[2]), amount = tonumber(A[4]) })
end
settle()
return ok_quiet()
