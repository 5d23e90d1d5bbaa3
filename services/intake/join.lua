-- Joins a repeat contact to the open ticket of the same unit and fault: a
-- second request about a fault the customer already reported is counted
-- and put on that ticket's timeline instead of opening another ticket.
-- The contact's own id (its claimed or pre-minted ticket id) is recorded,
-- so a retry of the same request (same Idempotency-Key) is not counted
-- twice.
-- K[1..TK] the open ticket's keys (ticket.lua), K[TK+1] t:<id>:contacts
-- A[1] map: contact (id), entry (timeline JSON), now
-- Reply: ok, 0, 'joined' | 'exists', contacts (count);
--   stale not_open (closed or cancelled meanwhile: decide again)
local a = arg(1)
if redis.call('EXISTS', K[1]) == 0 then return reject('unknown_ticket') end
local contacts = K[TK + 1]
if redis.call('SISMEMBER', contacts, a.contact) == 1 then
  return ok_quiet('exists', redis.call('HGET', K[1], 'contacts') or '1')
end
if terminal_reason() then return stale('not_open') end
redis.call('SADD', contacts, a.contact)
local n = redis.call('HINCRBY', K[1], 'contacts', 1)
timeline(a.entry, a.now)
return ok_quiet('joined', tostring(n))
