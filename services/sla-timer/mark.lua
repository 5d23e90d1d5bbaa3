-- Records facts about a ticket that the clocks' policies read, once per
-- message, on the ticket's clock hash: whether it waits for the customer
-- (ticket.waiting / ticket.resumed: waiting, waiting_ms) and its
-- appointment (workorder.appointment / _missed: appointment_ms,
-- appointment_end_ms, appointment_changes, appointment_late,
-- appointment_missed, missed_ms). Nothing pauses or fires on them yet: the
-- SLA issue's policies will.
-- K[1] due set (unused), K[2] ticket's clock hash
-- A = { ticket, field, value, field, value, ... }
if seen() then return dup() end
redis.call('HSET', K[2], unpack(A, 2))
return ok_quiet()
