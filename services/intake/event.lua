-- Applies an event from another service to a ticket: timeline entry, status
-- (which only moves forward: events may arrive out of order after restarts)
-- and extra fields.
-- K[1..TK] the ticket's keys (ticket.lua)
-- A[1] map: rank (of the status this event implies, 0: none), status,
--   entry (timeline JSON), now (ms), fields (field, value, ... to set)
if redis.call('EXISTS', K[1]) == 0 then return reject('unknown_ticket') end
if seen() then return dup() end
local a = arg(1)
timeline(a.entry, a.now)
local current = tonumber(redis.call('HGET', K[1], 'rank') or '0')
if a.rank > current then set_status(a.status, a.rank) end
if #a.fields > 0 then redis.call('HSET', K[1], unpack(a.fields)) end
return ok()
