-- Shared by feedback's scripts (appended after the prelude).
-- K[1] the ticket's feedback record (its return visit's fields are named
-- in common/asp_visits.h: intake reads them), K[2] the shard's quality
-- counts by day, K[3] the shard's no-response closes (zset: "<ticket>|<wo_id>"
-- -> when the visit closes as no_response if still unanswered),
-- K[4] the shard's partners whose counts changed (hash: partner -> changes;
-- feedback_score publishes their partner.scored and clears the mark),
-- K[5] the ticket's quality facts, K[6] the shard's count fields by day
-- (zset, for pruning), K[7] the shard's technicians with counts (zset of
-- "<partner>|<technician>", score 0, read by range of partner), K[8] the
-- shard's strikes to deliver to the partners' ladders (hash: strike id
-- "<ticket>-<n>" -> its current attribution "<partner>|<technician>|<ms>",
-- '' when it has none any more; feedback_strikes moves them), K[9] the
-- shard's survey reminders due (zset: "<ticket>|<wo_id>" -> when), K[10]
-- and K[11] the shard's open and assigned visits (zsets: ticket -> due),
-- K[12] the shard's counts by month (for the reports, kept longer than the
-- days), K[13] their fields by month (zset scored yyyymm, for reports and
-- pruning).
-- The last argument of every script is the quality settings
-- "<facts ttl ms>,<repeat window ms>,<install return window ms>".

local CFG_TTL, CFG_REPEAT, CFG_INSTALL = string.match(A[#A], '^(%d+),(%d+),(%d+)$')
CFG_TTL, CFG_REPEAT, CFG_INSTALL = tonumber(CFG_TTL), tonumber(CFG_REPEAT), tonumber(CFG_INSTALL)
local DAY_MS = 86400000

-- The UTC month of a day (days since 1970) as yyyymm (H. Hinnant's
-- civil_from_days): reports read months, not days, so a year is 12 fields.
local function month_of(day)
  local z = day + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400 + (m <= 2 and 1 or 0)
  return string.format('%d', y * 100 + m)
end

-- The counts the reports read (by month, for partners, regions and
-- categories; common/asp_report.h names them), and of those the ones the
-- early warning reads by day for regions and categories too (partners
-- have every count by day already). The others (resolved, bookings) only
-- feed the scores: fewer fields, fewer commands per fact.
local REPORTED = { created = true, completed = true, fixed = true, redone = true, repeats = true,
                   installs = true, install_returns = true, surveys = true, score_sum = true,
                   arrivals = true, late_arrivals = true, complaints = true, breaches = true,
                   warned = true, compensation = true }
local WARNED = { created = true, completed = true, complaints = true, breaches = true, warned = true }

-- The generation of a work order id: W<ticket> is 1, W<ticket>.<n> is n.
local function gen_of(wo)
  return tonumber(string.match(wo, '%.(%d+)$') or '1')
end

-- The record's visit timers (its no-response close, its next reminder)
-- and its place in the staff's lists, if any, are dropped.
local function unplan_close(ticket)
  local member = ticket .. '|' .. (redis.call('HGET', K[1], 'wo_id') or '')
  redis.call('ZREM', K[3], member)
  redis.call('ZREM', K[9], member)
  redis.call('ZREM', K[10], ticket)
  redis.call('ZREM', K[11], ticket)
end

-- The visit, if open or assigned, ends in state (asp_visit_state_t's
-- word); an answered or closed one stays as it ended.
local function end_visit(ticket, state)
  local st = redis.call('HGET', K[1], 'vstate')
  unplan_close(ticket)
  if st == 'open' or st == 'assigned' then redis.call('HSET', K[1], 'vstate', state) end
end

-- A new work order generation (ticket.redispatched, or the completion of
-- a newer work order that overtook it): the record starts over for it;
-- the quality facts (K[5]) keep what the earlier one earned.
local function new_generation(ticket, wo)
  unplan_close(ticket)
  redis.call('DEL', K[1])
  redis.call('HSET', K[1], 'wo_id', wo)
end

-- ---------------------------------------------------------------------------
-- Quality facts. Each message adds its fact to the ticket's facts (K[5]);
-- then settle() computes the ticket's whole contribution to the counts
-- from its facts alone, and applies the difference to what it had
-- contributed before (kept in field 'x'). So the counts are a function of
-- the set of facts, never of their order of arrival.
-- Facts: 'g<n>' the completion of generation n {p, t, r, ms} (the first one
-- kept); 'r<n>' the re-dispatch to generation n {ms, rep}; 's' the survey
-- answers [{ms, score, resolved, on_time, complaint}]; 'a' the appointment
-- events [{g, k, p, ms}]; 'c' the ticket's creation {ms, type, prev, inst};
-- 'b' the breaches of partner clocks [{ms, clock}]; 'm' the compensations
-- of partner clocks [{ms, amount}]; 'w' the warnings of partner clocks
-- [{ms, clock}] (a clock near its due: the early warning counts them);
-- 'v' the service-recovery records, each its latest revision
-- {<record id> = {rev, o, out, amt, d, fast}} (recovery.lua).

local function fact_get(f)
  local v = redis.call('HGET', K[5], f)
  return v and cjson.decode(v)
end

-- Sets fact f once (the first message that brings it wins).
local function fact_once(f, v)
  redis.call('HSETNX', K[5], f, cjson.encode(v))
end

-- Appends v to the list fact f (once per message: the inbox guards it).
local function fact_add(f, v)
  local list = fact_get(f) or {}
  list[#list + 1] = v
  redis.call('HSET', K[5], f, cjson.encode(list))
end

-- The counts the facts give: field "<day>|<count>|p|<partner>" (and
-- "<day>|<count>|t|<partner>|<technician>" for the technician who did the
-- work) -> n, the day that of the fact's own time (UTC days since 1970);
-- for the reports "m<yyyymm>|<count>|<g>|<id>" by month, g 'p' the
-- partner, 'r' the ticket's region, 'c' its category (the ticket type),
-- and for the early warning the WARNED counts by day of 'r' and 'c' too.
-- A ticket's region and category are those of its creation fact: until
-- it arrives its counts are the partner's only, then settle adds them.
local function contribution()
  local all = redis.call('HGETALL', K[5])
  local comp, redisp, surveys, appts, created, breaches, paid, warned = {}, {}, {}, {}, nil, {}, {}, {}
  local recov = {}
  local maxgen = 0
  for i = 1, #all, 2 do
    local f, v = all[i], all[i + 1]
    local kind, n = string.match(f, '^([gr])(%d+)$')
    n = tonumber(n)
    if kind == 'g' then comp[n] = cjson.decode(v)
    elseif kind == 'r' then redisp[n] = cjson.decode(v)
    elseif f == 's' then surveys = cjson.decode(v)
    elseif f == 'a' then appts = cjson.decode(v)
    elseif f == 'c' then created = cjson.decode(v)
    elseif f == 'b' then breaches = cjson.decode(v)
    elseif f == 'm' then paid = cjson.decode(v)
    elseif f == 'w' then warned = cjson.decode(v)
    elseif f == 'v' then recov = cjson.decode(v) end
    if n and n > maxgen then maxgen = n end
  end
  for _, a in ipairs(appts) do if a.g > maxgen then maxgen = a.g end end
  local out, strikes = {}, {}
  local groups = {}
  if created then
    groups = { 'r|' .. (created.reg or ''), 'c|' .. created.type }
  end
  local function put(f, n) out[f] = (out[f] or 0) + n end
  -- p nil or '': the ticket's groups only (its creation, a breach whose
  -- partner is not known yet).
  local function add(p, t, ms, count, n)
    n = n or 1
    if n == 0 then return end
    local d = math.floor(tonumber(ms) / DAY_MS)
    local day = string.format('%d', d)
    local month = REPORTED[count] and 'm' .. month_of(d) .. '|' .. count .. '|'
    if p and p ~= '' then
      put(day .. '|' .. count .. '|p|' .. p, n)
      if t and t ~= '' then put(day .. '|' .. count .. '|t|' .. p .. '|' .. t, n) end
      if month then put(month .. 'p|' .. p, n) end
    end
    for _, g in ipairs(groups) do
      if month then put(month .. g, n) end
      if WARNED[count] then put(day .. '|' .. count .. '|' .. g, n) end
    end
  end
  if created then add(nil, nil, created.ms, 'created') end
  -- The latest completion of a generation below g (nil when none known).
  local function before(g)
    for h = g - 1, 1, -1 do if comp[h] then return comp[h] end end
  end
  for g, c in pairs(comp) do
    add(c.p, c.t, c.ms, 'completed')
    if c.r ~= 'not_fixed' then
      add(c.p, c.t, c.ms, 'fixed')
      -- Not a first-time fix after all: the ticket got a later work order.
      if maxgen > g then add(c.p, c.t, c.ms, 'redone') end
    end
    if c.r == 'installed' then add(c.p, c.t, c.ms, 'installs') end
  end
  -- A reopen (the same fault back after closing): a repeat repair of the
  -- latest earlier completion, on the day of the reopen.
  for g, r in pairs(redisp) do
    local c = r.rep and before(g)
    if c then add(c.p, c.t, r.ms, 'repeats') end
  end
  -- A survey answers the latest completion before it (by their own
  -- times; the earliest completion when none is before it, e.g. clocks a
  -- little apart).
  for i, s in ipairs(surveys) do
    local best, first
    for g, c in pairs(comp) do
      if c.ms <= s.ms and (not best or c.ms > best.ms or (c.ms == best.ms and g > best.g)) then
        best = { g = g, ms = c.ms, p = c.p, t = c.t }
      end
      if not first or c.ms < first.ms or (c.ms == first.ms and g < first.g) then
        first = { g = g, ms = c.ms, p = c.p, t = c.t }
      end
    end
    best = best or first
    if best then
      add(best.p, best.t, s.ms, 'surveys')
      add(best.p, best.t, s.ms, 'score_sum', s.score)
      if s.resolved then add(best.p, best.t, s.ms, 'resolved') end
      if s.on_time ~= nil then add(best.p, best.t, s.ms, 'arrivals') end
      if s.on_time == false then add(best.p, best.t, s.ms, 'late_arrivals') end
      if s.complaint then
        add(best.p, best.t, s.ms, 'complaints')
        -- A complaint is a strike against whoever it counts for (the
        -- three-strike ladder, feedback_strikes.h), identified by the
        -- survey answer's place in the list (the inbox adds each once).
        if best.p and best.p ~= '' then
          strikes[tostring(i)] = best.p .. '|' .. (best.t or '') .. '|' .. string.format('%d', s.ms)
        end
      end
    end
  end
  -- A partner clock's breach or compensation is the partner's (and
  -- technician's) whose work order was current then: the generation
  -- started (re-dispatched) or completed by that time, its completion's
  -- partner, else the partner that booked it; unknown until one is.
  local function owner_at(ms)
    local cur = 1
    for g, r in pairs(redisp) do if r.ms <= ms and g > cur then cur = g end end
    for g, c in pairs(comp) do if c.ms <= ms and g > cur then cur = g end end
    if comp[cur] then return comp[cur].p, comp[cur].t end
    for _, a in ipairs(appts) do if a.g == cur then return a.p, nil end end
  end
  for _, b in ipairs(breaches) do
    local p, t = owner_at(b.ms)
    add(p, t, b.ms, 'breaches')
  end
  for _, w in ipairs(warned) do
    local p, t = owner_at(w.ms)
    add(p, t, w.ms, 'warned')
  end
  for _, m in ipairs(paid) do
    local p, t = owner_at(m.ms)
    add(p, t, m.ms, 'compensation', m.amount)
  end
  -- A service-recovery record counts for the partner (and technician)
  -- whose work order was current when it was opened: a closed one as a
  -- recovery, one resolved within ASP_RECOVERY_FAST_H as recovered fast
  -- (TARP's "quickly"), its compensation with the clocks'; on day d (when
  -- it closed, or when its compensation was set while open).
  for _, rc in pairs(recov) do
    local p, t = owner_at(rc.o)
    if rc.out ~= 'open' then add(p, t, rc.d, 'recoveries') end
    if rc.fast then add(p, t, rc.d, 'recovered_fast') end
    add(p, t, rc.d, 'compensation', rc.amt)
  end
  -- Appointments count for the partner they name, and for the technician
  -- of that generation's completion when it was the same partner's.
  for _, a in ipairs(appts) do
    local c = comp[a.g]
    add(a.p, c and c.p == a.p and c.t or nil, a.ms, a.k)
  end
  -- A repair ticket of a unit: a repeat repair of the unit's previous
  -- repair done within the repeat window, a first-install return of its
  -- installation within the install return window (so that the rate
  -- stays a share of installations); on the day the ticket was created.
  if created and created.type == 'repair' then
    local prev, inst = created.prev, created.inst
    if prev and created.ms - prev.ms <= CFG_REPEAT and created.ms >= prev.ms then
      add(prev.p, prev.t, created.ms, 'repeats')
    end
    -- Once per installation: the unit's first repair after it (none
    -- done since it was installed).
    if inst and created.ms - inst.ms <= CFG_INSTALL and created.ms >= inst.ms
       and not (prev and prev.ms >= inst.ms) then
      add(inst.p, inst.t, created.ms, 'install_returns')
    end
  end
  return out, strikes
end

-- Applies the difference between the facts' counts and what the ticket
-- had contributed; marks every partner whose counts changed (a
-- technician's change marks its partner: its scores are published with
-- the partner's), once per script. The facts expire CFG_TTL after their
-- last change, like the days they counted into.
local marked = {}
local function bump(f, n)
  local month = string.match(f, '^m(%d+)|')
  local counts, index = K[2], K[6]
  if month then counts, index = K[12], K[13] end
  local left = redis.call('HINCRBY', counts, f, n)
  if left == 0 then
    redis.call('HDEL', counts, f)
    redis.call('ZREM', index, f)
  elseif left == n then
    -- A new field (one that reaches 0 is deleted, so left == n only when
    -- it was absent): index it once, not on every change.
    redis.call('ZADD', index, tonumber(month or string.match(f, '^(%d+)')), f)
  end
  local kind, rest = string.match(f, '^m?%d+|[%w_]+|(%a)|(.*)$')
  -- Only the partners' and technicians' days feed a score.
  if month or (kind ~= 'p' and kind ~= 't') then return end
  local partner = kind == 'p' and rest or string.match(rest, '^([^|]*)')
  if kind == 't' then redis.call('ZADD', K[7], 0, rest) end
  if not marked[partner] then
    marked[partner] = true
    redis.call('HINCRBY', K[4], partner, 1)
  end
end

-- A strike whose attribution changed (new, moved to another completion's
-- partner, or gone) is queued for the ladders (K[8]); the ticket's
-- strikes as last queued are kept in fact 'k'.
local function queue_strikes(new)
  local old = fact_get('k') or {}
  local ticket = string.match(K[5], '}:fb:(.*):q$')
  for i, a in pairs(new) do
    if old[i] ~= a then redis.call('HSET', K[8], ticket .. '-' .. i, a) end
  end
  for i, _ in pairs(old) do
    if new[i] == nil then redis.call('HSET', K[8], ticket .. '-' .. i, '') end
  end
  if next(new) then
    redis.call('HSET', K[5], 'k', cjson.encode(new))
  else
    redis.call('HDEL', K[5], 'k')
  end
end

local function settle()
  local new, strikes = contribution()
  queue_strikes(strikes)
  local old = fact_get('x') or {}
  for f, n in pairs(new) do
    if n ~= (old[f] or 0) then bump(f, n - (old[f] or 0)) end
  end
  for f, n in pairs(old) do
    if new[f] == nil then bump(f, -n) end
  end
  if next(new) then
    redis.call('HSET', K[5], 'x', cjson.encode(new))
  else
    redis.call('HDEL', K[5], 'x')
  end
  redis.call('PEXPIRE', K[5], CFG_TTL)
end
