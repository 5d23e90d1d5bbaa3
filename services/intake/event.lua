-- Applies an event from another service to a ticket: timeline entry, status
-- (which only moves forward: events may arrive out of order after restarts)
-- and extra fields. An event about another work order than the ticket's
-- current one (an earlier generation's, late) only adds to the timeline.
-- An installation's completion also makes its partner and technician the
-- unit's installer of record (the unit lives in the ticket's shard: one
-- atomic step).
-- K[1..TK] the ticket's keys (ticket.lua), K[TK+1] u:<serial> (only when
--   install.unit)
-- A[1] map: rank (of the status this event implies, 0: none), status,
--   entry (timeline JSON), now (ms), wo_id (the event's work order, '' when
--   it names none), fields (field, value, ... to set),
--   install (true only for a completion with result installed; then:
--   serial as the caller read it, unit (true: its key is K[TK+1]),
--   partner, technician, date_ms), name_owner (an SLA escalation: its
--   timeline entry names the ticket's owner)
if redis.call('EXISTS', K[1]) == 0 then return reject('unknown_ticket') end
local a = arg(1)
-- The caller read the serial outside this script (it never changes once
-- the ticket exists); a failed read is retried, not guessed.
if a.install and a.serial ~= (redis.call('HGET', K[1], 'serial') or '') then
  return redis.error_reply('ERR the ticket serial was not read; retry')
end
if seen() then return dup() end
local entry = a.entry
-- An escalation names the ticket's first-contact owner (who must answer
-- for it), as the ticket says when the clock fires.
if a.name_owner then
  local e = cjson.decode(entry)
  e.data.owner = redis.call('HGET', K[1], 'owner') or ''
  entry = cjson.encode(e)
end
timeline(entry, a.now)
if a.wo_id ~= '' and a.wo_id ~= current_wo() then return ok() end
if a.rank > rank() then
  set_status(a.status, a.rank)
  if a.status == 'closed' then redis.call('HSET', K[1], 'closed_ms', a.now) end
end
if #a.fields > 0 then redis.call('HSET', K[1], unpack(a.fields)) end
if a.install and a.unit and redis.call('EXISTS', K[TK + 1]) == 1 then
  redis.call('HSET', K[TK + 1], 'installer_partner', a.partner, 'installer_technician', a.technician,
             'install_date', a.date_ms, 'installed_by_ticket', redis.call('HGET', K[1], 'id'),
             'updated_ms', a.now)
end
return ok()
