-- Applies an event from another service to a ticket: timeline entry, status
-- (which only moves forward: events may arrive out of order after restarts)
-- and extra fields. An event about another work order than the ticket's
-- current one (an earlier generation's, late) only adds to the timeline.
-- An installation's completion also makes its partner and technician the
-- unit's installer of record, and a repair ticket's completed fixed the
-- unit's latest repair (the unit lives in the ticket's shard: one atomic
-- step).
-- K[1..TK] the ticket's keys (ticket.lua), K[TK+1] u:<serial> (only when
--   install.unit)
-- A[1] map: rank (of the status this event implies, 0: none), status,
--   entry (timeline JSON), now (ms), wo_id (the event's work order, '' when
--   it names none), fields (field, value, ... to set),
--   install (true only for a completion with result installed), repair
--   (true only for a repair ticket's completion with result fixed); with
--   either: serial as the caller read it, unit (true: its key is K[TK+1]),
--   partner, technician, date_ms), name_owner (an SLA warning, breach or
--   escalation: its timeline entry names the ticket's owner), time (the
--   event's own time, ms), and what routing's dispatch events and
--   sla-timer's compensation add to the ticket's view (intake_dispatch.h,
--   intake_sla.h): view ('' | offered | unroutable | appointment |
--   missed | returned | compensation), timeline_only (notification's
--   events: the entry only), compensation (JSON), clears (offered, assigned: the work order left the
--   unroutable queue), dispatch (JSON: why this partner), unroutable (JSON),
--   appt_at, appt_end, changes, late (a booking), missed_at (the missed
--   slot), completed_rank, from_routing (a workorder.* event), sla ('' |
--   warning | breached | escalated) with due (the clock's due_ms, 0 when
--   the event has none), parts ('' | '1' | '0': a partner's progress says
--   it waits for parts, or works again)

-- Keeps the ops view of the ticket's SLA risk (ticket.lua's K[10..12] and
-- the record's sla_level, sla_due_ms, which search's sla filter reads):
-- level 1 warned (in K[10] by its earliest warned due time), 2 breached
-- (K[11]), 3 escalated (K[12] too). Only open tickets are in the sets.
local function sla_risk (a)
  local t = redis.call('HMGET', K[1], 'id', 'status', 'sla_level', 'sla_due_ms')
  local id, level, due = t[1], tonumber(t[3] or '0'), tonumber(t[4] or '0')
  if TERMINAL[t[2]] then return end
  if a.sla == 'warning' then
    if level >= 2 then return end
    if due == 0 or (a.due > 0 and a.due < due) then
      due = a.due
      redis.call('HSET', K[1], 'sla_due_ms', due)
    end
    redis.call('HSET', K[1], 'sla_level', '1')
    if due > 0 then redis.call('ZADD', K[10], due, id) end
    return
  end
  redis.call('ZREM', K[10], id)
  redis.call('ZADD', K[11], 'NX', a.time, id)
  local want = a.sla == 'escalated' and 3 or 2
  if want == 3 then redis.call('ZADD', K[12], 'NX', a.time, id) end
  if want > level then redis.call('HSET', K[1], 'sla_level', tostring(want)) end
end

-- What routing's dispatch events show on the ticket, beyond the timeline.
local function dispatch_view (a)
  local id = redis.call('HGET', K[1], 'id')
  if a.clears and a.time >= tonumber(redis.call('HGET', K[1], 'unroutable_ms') or '0') then
    clear_unroutable()
  end
  if a.view == 'offered' then
    redis.call('HSET', K[1], 'dispatch', a.dispatch)
  elseif a.view == 'unroutable' then
    if TERMINAL[redis.call('HGET', K[1], 'status')] then return end
    -- Oldest first: a work order stays where it first entered the queue.
    redis.call('ZADD', K[7], 'NX', a.time, id)
    redis.call('HSET', K[1], 'unroutable', a.unroutable, 'unroutable_ms', a.time)
  elseif a.view == 'appointment' then
    local cur = redis.call('HGET', K[1], 'appointment')
    local ap = cur and cjson.decode(cur) or { changes = -1, late_changes = 0 }
    -- Bookings arrive in any order after restarts: the latest change wins.
    if a.changes < ap.changes then return end
    ap.late_changes = ap.late_changes + (a.late and 1 or 0)
    ap.at_ms, ap.end_ms, ap.changes, ap.missed = a.appt_at, a.appt_end, a.changes, false
    redis.call('HSET', K[1], 'appointment', cjson.encode(ap), 'appointment_missed', '0')
  elseif a.view == 'missed' then
    local cur = redis.call('HGET', K[1], 'appointment')
    local ap = cur and cjson.decode(cur) or { at_ms = a.missed_at, end_ms = 0, changes = 0, late_changes = 0 }
    -- A slot already moved when the miss was noticed was not missed.
    if ap.at_ms ~= a.missed_at then return end
    ap.missed = true
    redis.call('HSET', K[1], 'appointment', cjson.encode(ap), 'appointment_missed', '1')
  elseif a.view == 'compensation' then
    -- Several clocks may owe one; the ticket shows the latest (by the
    -- event's time: a resent older one does not replace it).
    if a.time >= tonumber(redis.call('HGET', K[1], 'compensation_ms') or '0') then
      redis.call('HSET', K[1], 'compensation', a.compensation, 'compensation_ms', a.time)
    end
  elseif a.view == 'returned' then
    -- The partner gave the work order back: it waits for a partner again
    -- (routing offers it to another), with no partner and no appointment.
    redis.call('HSET', K[1], 'returned_ms', a.time)
    redis.call('HDEL', K[1], 'partner_id', 'appointment', 'appointment_missed')
    if not TERMINAL[redis.call('HGET', K[1], 'status')] and rank() < a.completed_rank then
      set_status('received', 0)
    end
  end
end

if redis.call('EXISTS', K[1]) == 0 then return reject('unknown_ticket') end
local a = arg(1)
-- The caller read the serial outside this script (it never changes once
-- the ticket exists); a failed read is retried, not guessed.
if (a.install or a.repair) and a.serial ~= (redis.call('HGET', K[1], 'serial') or '') then
  return redis.error_reply('ERR the ticket serial was not read; retry')
end
if seen() then return dup() end
-- Notification's deliveries only add to the timeline: the ticket's
-- record, its updated_ms too, stays as it was.
if a.timeline_only then
  redis.call('RPUSH', K[2], a.entry)
  return ok()
end

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
-- A work order handed back (workorder.returned) waits for a partner
-- again: what routing said about it before then (late, resent) only adds
-- to the timeline.
if a.from_routing and a.time < tonumber(redis.call('HGET', K[1], 'returned_ms') or '0') then return ok() end
if a.view ~= '' then dispatch_view(a) end
if a.sla ~= '' then sla_risk(a) end
if a.parts ~= '' then set_flag('waiting_parts', 'wait_parts', a.parts) end
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
-- (The latest by the completions' own times: two repair tickets' events
-- may arrive in either order.)
if a.repair and a.unit and redis.call('EXISTS', K[TK + 1]) == 1
   and a.date_ms >= tonumber(redis.call('HGET', K[TK + 1], 'last_repair_ms') or '0') then
  redis.call('HSET', K[TK + 1], 'last_repair_partner', a.partner, 'last_repair_technician', a.technician,
             'last_repair_ms', a.date_ms, 'last_repair_ticket', redis.call('HGET', K[1], 'id'),
             'updated_ms', a.now)
end
return ok()
