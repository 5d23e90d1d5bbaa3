-- Staff ask notification to send a dead letter again: the timeline says
-- who asked, and notification.replay {id, by} goes to notification (in
-- the outbox: committed here, applied there once). The notification's
-- hash is notification's: read here, never written.
-- K[1..TK] the ticket's keys (ticket.lua), K[TK+1] notify:n:<id>
-- A[1] map: entry (timeline JSON), now
local a = arg(1)
if redis.call('EXISTS', K[1]) == 0 then return reject('unknown_ticket') end
if redis.call('HGET', K[TK + 1], 'state') ~= 'dead' then return reject('not_dead') end
timeline(a.entry, a.now)
return ok()
