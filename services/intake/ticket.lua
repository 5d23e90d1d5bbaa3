-- intake's ticket library: the functions every intake script that changes a
-- ticket shares (between the prelude and the script's body).
--
-- Every such script gets the keys intake_ticket_keys passes first, in this
-- order, all in the ticket's shard:
--   K[1] the ticket hash, K[2] its timeline list,
--   K[3] the shard's status counts (hash: status -> tickets in it),
--   K[4] the shard's open tickets (zset: created_ms -> ticket id),
--   K[5] the shard's tickets, all of them (zset: created_ms -> ticket id),
--   K[6] the shard's counts per owner (hash: "<status>:<owner>" -> tickets),
--   K[7] the shard's unroutable queue (zset: since_ms -> ticket id),
--   K[8] the shard's ops counts (hash: open:<type>, wait_customer,
--        wait_parts: open tickets only; intake_ops reads them),
--   K[9] the shard's change feed (stream: one entry {id} per ticket change,
--        capped; intake_ops' event stream reads it),
--   K[10] the shard's warned SLA clocks (zset: due_ms -> ticket id; open
--        tickets warned, not breached),
--   K[11] the shard's breached tickets (zset: since_ms -> ticket id, open),
--   K[12] the shard's escalated tickets (zset: since_ms -> ticket id, open)
-- and its own keys after them: K[TK + 1], K[TK + 2], ...
local TK = 12
-- Entries the change feed keeps per shard (about; XADD's ~ trims whole
-- nodes): a reader whose cursor fell further behind starts again.
local FEED_MAX = 20000

-- Statuses a ticket leaves only by an explicit staff action (reopen).
local TERMINAL = { closed = true, cancelled = true }

-- Takes the ticket out of the unroutable queue (K[7]) and drops its flag:
-- its work order was offered or assigned after all, was replaced by a new
-- generation, or the ticket ended.
local function clear_unroutable ()
  redis.call('ZREM', K[7], redis.call('HGET', K[1], 'id'))
  redis.call('HDEL', K[1], 'unroutable', 'unroutable_ms')
end

-- Appends the ticket to the shard's change feed (K[9]), once per script
-- call however many changes it makes: the reader reads the record itself.
local fed = false
local function feed ()
  if fed then return end
  fed = true
  redis.call('XADD', K[9], 'MAXLEN', '~', FEED_MAX, '*', 'id', redis.call('HGET', K[1], 'id'))
end

-- Adds sign (1 or -1) to the ops counts (K[8]) the ticket is in: its type
-- and its waiting flags. Called when it enters or leaves the open part of
-- its life, so the counts are of open tickets only.
local function ops_count (sign)
  local t = redis.call('HMGET', K[1], 'type', 'waiting', 'waiting_parts')
  if t[1] then redis.call('HINCRBY', K[8], 'open:' .. t[1], sign) end
  if t[2] == '1' then redis.call('HINCRBY', K[8], 'wait_customer', sign) end
  if t[3] == '1' then redis.call('HINCRBY', K[8], 'wait_parts', sign) end
end

-- Sets a waiting flag (field 'waiting' or 'waiting_parts') to v ('1' or
-- '0') and keeps its count (counter) in K[8] true while the ticket is open.
local function set_flag (field, counter, v)
  local t = redis.call('HMGET', K[1], field, 'status')
  redis.call('HSET', K[1], field, v)
  if (t[1] == '1') ~= (v == '1') and t[2] and not TERMINAL[t[2]] then
    redis.call('HINCRBY', K[8], counter, v == '1' and 1 or -1)
  end
end

-- Takes the ticket out of the SLA risk sets (K[10..12]): it ended.
local function sla_clear (id)
  redis.call('ZREM', K[10], id)
  redis.call('ZREM', K[11], id)
  redis.call('ZREM', K[12], id)
end

-- Moves the ticket to status (rank: its asp_status_t) and keeps the shard's
-- counts, open set and list of all tickets true. Call it for every status
-- change: the agent's queue counts, the open list and search are only as
-- right as this. A ticket's first status (creation) enters it in K[5].
local function set_status (status, rank)
  local t = redis.call('HMGET', K[1], 'status', 'id', 'created_ms', 'owner')
  local old, id, created, owner = t[1], t[2], tonumber(t[3] or '0'), t[4]
  redis.call('HSET', K[1], 'status', status, 'rank', tostring(rank))
  if old == status then return end
  feed()
  local was_open, is_open = old and not TERMINAL[old], not TERMINAL[status]
  if was_open and not is_open then ops_count(-1) end
  if is_open and not was_open then ops_count(1) end
  if old then
    redis.call('HINCRBY', K[3], old, -1)
  else
    redis.call('ZADD', K[5], created, id)
  end
  redis.call('HINCRBY', K[3], status, 1)
  if owner and owner ~= '' then
    if old then redis.call('HINCRBY', K[6], old .. ':' .. owner, -1) end
    redis.call('HINCRBY', K[6], status .. ':' .. owner, 1)
  end
  if TERMINAL[status] then
    redis.call('ZREM', K[4], id)
    sla_clear(id)
    clear_unroutable()
  else
    redis.call('ZADD', K[4], created, id)
  end
end

-- Gives the ticket to owner ('' for nobody) and moves its count in the
-- owners' queue counts (K[6]). Call it for every change of owner.
local function set_owner (owner)
  local t = redis.call('HMGET', K[1], 'status', 'owner')
  local status, old = t[1], t[2]
  if old == owner then return end
  redis.call('HSET', K[1], 'owner', owner)
  if not status then return end
  if old and old ~= '' then redis.call('HINCRBY', K[6], status .. ':' .. old, -1) end
  if owner ~= '' then redis.call('HINCRBY', K[6], status .. ':' .. owner, 1) end
end

-- Appends a timeline entry (JSON) and stamps the ticket as updated at now.
local function timeline (entry, now)
  redis.call('RPUSH', K[2], entry)
  redis.call('HSET', K[1], 'updated_ms', now)
  feed()
end

-- The ticket's current work order: events about any other (an earlier
-- generation's, arriving late) must not move the ticket. A ticket that
-- was never re-dispatched has the first one, W<ticket id>.
local function current_wo()
  return redis.call('HGET', K[1], 'wo_id') or ('W' .. redis.call('HGET', K[1], 'id'))
end

-- The guards every staff action (a.: owner_is, gen) starts with: the
-- ticket exists; an agent acts only on a ticket they own (owner_is, ''
-- for anyone); nobody started another work order generation since the
-- handler read the ticket (gen). Returns a refusal reason, or nil.
local function staff_guard(a)
  if redis.call('EXISTS', K[1]) == 0 then return 'unknown_ticket' end
  if a.owner_is ~= '' and redis.call('HGET', K[1], 'owner') ~= a.owner_is then return 'not_owner' end
  if (redis.call('HGET', K[1], 'gen') or '1') ~= a.gen then return 'ticket_changed' end
  return nil
end

-- 'already_closed' / 'already_cancelled' for a ticket in a terminal
-- status, else nil.
local function terminal_reason()
  local st = redis.call('HGET', K[1], 'status')
  if TERMINAL[st] then return 'already_' .. st end
  return nil
end

-- The ticket's rank (its asp_status_t).
local function rank()
  return tonumber(redis.call('HGET', K[1], 'rank') or '0')
end
