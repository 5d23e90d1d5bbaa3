-- Applies an event from another service to a ticket: timeline entry, status
-- (which only moves forward: events may arrive out of order after restarts)
-- and extra fields. An event about another work order than the ticket's
-- current one (an earlier generation's, late) only adds to the timeline.
-- K[1..TK] the ticket's keys (ticket.lua)
-- A[1] map: rank (of the status this event implies, 0: none), status,
--   entry (timeline JSON), now (ms), wo_id (the event's work order, '' when
--   it names none), fields (field, value, ... to set)
if redis.call('EXISTS', K[1]) == 0 then return reject('unknown_ticket') end
if seen() then return dup() end
local a = arg(1)
timeline(a.entry, a.now)
if a.wo_id ~= '' and a.wo_id ~= current_wo() then return ok() end
if a.rank > rank() then
  set_status(a.status, a.rank)
  if a.status == 'closed' then redis.call('HSET', K[1], 'closed_ms', a.now) end
end
if #a.fields > 0 then redis.call('HSET', K[1], unpack(a.fields)) end
return ok()
