-- Applies one inbound event to a ticket's clocks (sla_clocks.c builds the
-- ops; the field scheme is sla_clocks.h's). Once per message (seen()).
-- K[1] the shard's due set, K[2] the ticket's clock hash
-- A[1] ticket, A[2] event time ms, A[3] work order generation ('' none),
-- A[4] '1' when this event creates the ticket's clocks (ticket.created),
-- 't' when it ends the ticket (closed, cancelled): for a ticket not known
-- yet it leaves a tombstone (done, expiring), so that a ticket.created
-- that arrives after it (the senders' outboxes are independent) starts
-- no clock; then ops, each: name, n, n tokens:
--   facts  field, value, ...            ticket facts (HSET)
--   start  clock, 'nx'|'new', field, value, ...   phases known (c:ph ...):
--          state running (paused when the ticket waits for a reason in c:pm),
--          member <t>|<c>|0 at the warning
--   arm    clock, anchor|'', field, value, ...    a new generation whose
--          phases the tick computes (member <t>|<c>|r now)
--   stop   clock, 'done'|'cancel'|'staff'   met or late by its due time;
--          cancel: cancelled (a breached clock: late); staff: done unless
--          the ticket is field work ('fw'), then cancel
--   pause  reason bit, reason word, clock, ...    the ticket waits
--   resume reason bit, reason word, clock, ...    it waits no more
-- Any other event for a ticket whose clocks have not started (its
-- ticket.created is still on its way: intake's outbox and routing's are
-- independent, so a partner's ACCEPT can overtake it) is parked in the
-- hash (field 'early', a msgpack list of {time, generation, op tokens}),
-- the hash expiring like a tombstone; ticket.created applies its own ops,
-- then the parked ones in time order, each at its own time. At most
-- EARLY_MAX are parked: a ticket that never starts cannot grow.
-- Reply: ok with the members added and their scores (for the caller's
-- heap), stale when the event changes nothing (an older work order's
-- event, a resume of nothing paused, too many parked).
local Z, H = K[1], K[2]
local t = A[1]
-- The time the ops apply at: the event's, or a parked event's on replay.
local T, now = A[2], tonumber(A[2])
local TOMBSTONE_S = 30 * 86400
local EARLY_MAX = 64

-- Every field is read from Redis at most once (HGET on the first read,
-- then from the table), and writes go to the table at once and to Redis
-- at the end (flush()), as one HDEL and one HSET; the due set's the same
-- way (one ZREM, one ZADD). Every return after a write flushes. Not one
-- HGETALL up front: an event reads a handful of the hash's ~70-100
-- fields, and turning all of them into Lua strings cost Redis more CPU
-- than the HGETs it saved (nor one HMGET of every field an op might
-- read: in a listpack each field looked up is a scan).
-- pol first: a started ticket has it, so the usual event needs no EXISTS.
local pol = redis.call('HGET', H, 'pol')
local exists = pol and true or redis.call('EXISTS', H) == 1
local hash = { pol = pol }            -- field -> value, false when absent
local dirty, order = {}, {}           -- field -> true set | false deleted
local zdirty, zorder = {}, {}         -- member -> score added | false removed

-- A value as Redis stores what HSET is given (a Lua number: its digits).
local function text(v)
  if type(v) == 'number' then return string.format('%.17g', v) end
  return v
end
-- (A ticket's first event finds no hash: nothing to read.)
local function get(k)
  local v = hash[k]
  if v == nil then
    v = exists and redis.call('HGET', H, k) or false
    hash[k] = v
  end
  return v
end
local function mark(k, how)
  if dirty[k] == nil then order[#order + 1] = k end
  dirty[k] = how
end
local function set(k, v)
  hash[k] = text(v)
  mark(k, true)
end
-- set(k1, v1, k2, v2, ...) from a list of tokens
local function set_list(tok, from)
  for i = from, #tok, 2 do set(tok[i], tok[i + 1]) end
end
-- A field known to be absent needs no HDEL.
local function del(k)
  if hash[k] == false or (hash[k] == nil and not exists) then return end
  hash[k] = false
  mark(k, false)
end
local function zmark(m, at)
  if zdirty[m] == nil then zorder[#zorder + 1] = m end
  zdirty[m] = at
end
local function zadd(m, at) zmark(m, at) end
local function zrem(m) zmark(m, false) end
-- A member's score, this script's writes included.
local function zscore(m)
  local v = zdirty[m]
  if v ~= nil then return v or nil end
  return redis.call('ZSCORE', Z, m)
end
local function flush()
  local d, s = {}, {}
  for _, k in ipairs(order) do
    if dirty[k] then s[#s + 1] = k; s[#s + 1] = hash[k] else d[#d + 1] = k end
  end
  if #d > 0 then redis.call('HDEL', H, unpack(d)) end
  if #s > 0 then redis.call('HSET', H, unpack(s)) end
  d, s = {}, {}
  for _, m in ipairs(zorder) do
    local at = zdirty[m]
    if at then s[#s + 1] = at; s[#s + 1] = m else d[#d + 1] = m end
  end
  if #d > 0 then redis.call('ZREM', Z, unpack(d)) end
  if #s > 0 then redis.call('ZADD', Z, unpack(s)) end
end

-- Not started: ticket.created has not come (the hash is absent, a
-- tombstone or parked events).
local started = pol
if not started and A[4] == 't' then
  if seen() then return dup() end
  redis.call('HSET', H, 'done', '1')
  redis.call('EXPIRE', H, TOMBSTONE_S)
  return ok_quiet()
end
if not started and A[4] ~= '1' then
  local early = get('early')
  early = early and cmsgpack.unpack(early) or {}
  if #early >= EARLY_MAX then return stale('too_early') end
  if seen() then return dup() end
  early[#early + 1] = { A[2], A[3], { unpack(A, 5) } }
  redis.call('HSET', H, 'early', cmsgpack.pack(early))
  if redis.call('TTL', H) < 0 then redis.call('EXPIRE', H, TOMBSTONE_S) end
  return ok_quiet()
end
-- ticket.created again (a new message id): its clocks run already. After
-- a tombstone: its facts are kept, no clock starts (the ticket ended).
if A[4] == '1' and started then return stale('exists') end
-- Only a tombstone or parked events have a TTL (a key that does not exist
-- has none).
if A[4] == '1' and exists then redis.call('PERSIST', H) end
-- False when the event names an older work order than the ticket's
-- (nothing of it applies); a newer one becomes the ticket's.
local function generation(g)
  local wg, cur = tonumber(g), tonumber(get('wg') or '1')
  if wg and wg < cur then return false end
  if wg and wg > cur then set('wg', wg) end
  return true
end
if tonumber(A[3]) and tonumber(A[3]) < tonumber(get('wg') or '1') then return stale('other_work_order') end
if seen() then return dup() end
generation(A[3])

local SUFFIX = { 'pol', 'bs', 'cal', 'tg', 'st', 'due', 'wn', 'ph', 'nx', 'lv', 'pm', 'pa', 'ps', 'end',
                 'cmp', 'apr', 'cap', 'gen', 'chg' }
local added, changed = {}, false

local function f(c, s) return c .. ':' .. s end
local function num(k) return tonumber(get(k) or '0') or 0 end
local function member(c, p) return t .. '|' .. c .. '|' .. p end
local function active(s) return s == 'running' or s == 'paused' or s == 'breached' end
-- The reasons the ticket waits now, as pause bits (asp_pause_t).
local function waits()
  local w = 0
  if get('wait_customer') == '1' then w = w + 1 end
  if get('wait_parts') == '1' then w = w + 2 end
  return w
end
-- The clock's member leaves the due set (at most one per clock).
local function unarm(c)
  local nx = get(f(c, 'nx'))
  if nx then
    zrem(member(c, nx))
    del(f(c, 'nx'))
  end
end
local function arm(c, p, at)
  set(f(c, 'nx'), p)
  zadd(member(c, p), at)
  added[#added + 1] = member(c, p)
  added[#added + 1] = tostring(at)
end
-- A new generation of clock c (or nil when mode 'nx' and it exists): the
-- previous one's fields go, its outcome stays in the timeline.
local function begin(c, mode)
  local state = get(c)
  if state and mode == 'nx' then return nil end
  local gen = num(f(c, 'gen')) + 1
  if state then
    unarm(c)
    del(c)
    for _, s in ipairs(SUFFIX) do del(f(c, s)) end
  end
  set(c, 'running')
  set(f(c, 'gen'), gen)
  set(f(c, 'st'), T)
  changed = true
  return gen
end

-- A ticket that ended (closed, cancelled) starts no clock until a new
-- work order (re-dispatch, reopen) revives it: a late event of its life
-- (a redelivery after a restart) must not start one that never ends.
local function ended() return get('done') == '1' end

local function op_start(tok)
  local c = tok[1]
  if ended() or not begin(c, tok[2]) then return end
  set_list(tok, 3)
  if bit.band(num(f(c, 'pm')), waits()) ~= 0 then
    set(c, 'paused')
    set(f(c, 'pa'), T)
  else
    arm(c, '0', num(f(c, 'wn')))
  end
end

local function op_arm(tok)
  local c = tok[1]
  if ended() then return end
  begin(c, 'new')
  set(f(c, 'pol'), get('pol') or '')
  if tok[2] ~= '' then set(f(c, 'due'), tok[2]) end
  set_list(tok, 3)
  arm(c, 'r', now)
end

local function op_stop(tok)
  local c, how = tok[1], tok[2]
  local s = get(c)
  if not s or not active(s) then return end
  local lv = num(f(c, 'lv'))
  if how == 'staff' then how = get('fw') == '1' and 'cancel' or 'done' end
  local pa = num(f(c, 'pa'))
  -- Paused until now, or (resumed, the tick has not moved its phases yet)
  -- until the resume: its member r's score.
  local upto
  if s == 'paused' then upto = now
  elseif pa > 0 then upto = tonumber(zscore(member(c, 'r')) or now) end
  local out
  if how == 'cancel' then
    out = lv >= 2 and 'late' or 'cancelled'
  elseif lv >= 2 then
    out = 'late'
  elseif s == 'paused' or pa > 0 or not get(f(c, 'ph')) then
    -- paused (or resumed, not re-armed yet; or phases not computed yet):
    -- its due time lies ahead of the time it ran
    out = 'met'
  else
    out = now > num(f(c, 'due')) and 'late' or 'met'
  end
  unarm(c)
  if upto then set(f(c, 'ps'), num(f(c, 'ps')) + math.max(0, upto - pa)) end
  del(f(c, 'pa'))
  set(c, out)
  set(f(c, 'end'), T)
  -- A late clock may owe compensation by the day: the tick decides.
  if out == 'late' then arm(c, 'r', now) end
  changed = true
end

local function op_pause(tok)
  local bitv, flag = tonumber(tok[1]), 'wait_' .. tok[2]
  if get(flag) ~= '1' then
    set(flag, '1')
    changed = true
  end
  for i = 3, #tok do
    local c = tok[i]
    local s = get(c)
    if (s == 'running' or s == 'breached') and bit.band(num(f(c, 'pm')), bitv) ~= 0 then
      unarm(c)
      -- A resume the tick has not applied yet (c:pa set) is taken back:
      -- the clock stays paused from its first pause.
      if num(f(c, 'pa')) == 0 then set(f(c, 'pa'), T) end
      set(c, 'paused')
      changed = true
    end
  end
end

local function op_resume(tok)
  local flag = 'wait_' .. tok[2]
  if get(flag) ~= '1' then return end
  del(flag)
  changed = true
  local w = waits()
  for i = 3, #tok do
    local c = tok[i]
    if get(c) == 'paused' and bit.band(num(f(c, 'pm')), w) == 0 then
      -- c:pa stays until the tick has moved the phases by the pause (from
      -- c:pa to the score of r) and counted it in c:ps
      set(c, num(f(c, 'lv')) >= 2 and 'breached' or 'running')
      arm(c, 'r', now)
    end
  end
end

local OPS = { start = op_start, arm = op_arm, stop = op_stop, pause = op_pause, resume = op_resume }
local function run(ops)
  local i = 1
  while i <= #ops do
    local name, n = ops[i], tonumber(ops[i + 1])
    local tok = { unpack(ops, i + 2, i + 1 + n) }
    if name == 'facts' then
      set_list(tok, 1)
      changed = true
    else
      OPS[name](tok)
    end
    i = i + 2 + n
  end
end
run({ unpack(A, 5) })
-- ticket.created: the events that overtook it, in time order (the order
-- they came in among equal times), each at its time.
local early = A[4] == '1' and get('early')
if early then
  early = cmsgpack.unpack(early)
  for i, e in ipairs(early) do e[4] = i end
  table.sort(early, function (a, b)
    local ta, tb = tonumber(a[1]), tonumber(b[1])
    if ta ~= tb then return ta < tb end
    return a[4] < b[4]
  end)
  for _, e in ipairs(early) do
    T, now = e[1], tonumber(e[1])
    if generation(e[2]) then run(e[3]) end
  end
  T, now = A[2], tonumber(A[2])
  del('early')
  changed = true
end
flush()
if not changed then return stale('nothing_to_do') end
return ok_quiet(unpack(added))
