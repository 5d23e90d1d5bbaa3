-- An answer to the customer (POST /v1/tickets/{id}/respond): when the
-- ticket was last answered and the call-back promised then (none: the
-- earlier promise is over), a timeline entry, and ticket.responded for
-- sla-timer (which stops the answer clocks and runs one to the promise).
-- K[1..TK] the ticket's keys (ticket.lua)
-- A[1] map: owner_is, gen (staff_guard), entry (timeline JSON), now,
--   promise_ms ('' for none)
local a = arg(1)
local why = staff_guard(a) or terminal_reason()
if why then return reject(why) end
redis.call('HSET', K[1], 'responded_ms', a.now)
if a.promise_ms ~= '' then
  redis.call('HSET', K[1], 'promise_ms', a.promise_ms)
else
  redis.call('HDEL', K[1], 'promise_ms')
end
timeline(a.entry, a.now)
return ok()
