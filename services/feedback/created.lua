-- ticket.created: the ticket's region and type (its counts' groups in the
-- reports, and a ticket created in them) and the unit's history as intake
-- knew it (its previous completed repair, its installation) are a quality
-- fact of the ticket: a repair soon after either counts a repeat repair or
-- a first-install return against whoever did that work (common.lua's
-- contribution).
-- K[1..13] (common.lua)
-- A[1] msgpack map {ms, type, region, prev_p, prev_t, prev_ms, inst_p, inst_t, inst_ms}
-- (prev_* the unit's previous repair done, inst_* its installation; each
-- group absent when unknown, a technician '' when none), A[2] settings
if seen() then return dup() end
local m = arg(1)
local c = { ms = m.ms, type = m.type, reg = m.region }
if m.prev_ms then c.prev = { p = m.prev_p, t = m.prev_t, ms = m.prev_ms } end
if m.inst_ms then c.inst = { p = m.inst_p, t = m.inst_t, ms = m.inst_ms } end
fact_once('c', c)
settle()
return ok_quiet()
