-- intake's ticket library: the functions every intake script that changes a
-- ticket shares (between the prelude and the script's body).
--
-- Every such script gets the keys intake_ticket_keys passes first, in this
-- order, all in the ticket's shard:
--   K[1] the ticket hash, K[2] its timeline list,
--   K[3] the shard's status counts (hash: status -> tickets in it),
--   K[4] the shard's open tickets (zset: created_ms -> ticket id)
-- and its own keys after them: K[TK + 1], K[TK + 2], ...
local TK = 4

-- Statuses a ticket leaves only by an explicit staff action (reopen).
local TERMINAL = { closed = true, cancelled = true }

-- Moves the ticket to status (rank: its asp_status_t) and keeps the shard's
-- counts and open set true. Call it for every status change: the agent's
-- queue counts and the open list are only as right as this.
local function set_status (status, rank)
  local old = redis.call('HGET', K[1], 'status')
  redis.call('HSET', K[1], 'status', status, 'rank', tostring(rank))
  if old == status then return end
  if old then redis.call('HINCRBY', K[3], old, -1) end
  redis.call('HINCRBY', K[3], status, 1)
  local id = redis.call('HGET', K[1], 'id')
  if TERMINAL[status] then
    redis.call('ZREM', K[4], id)
  else
    redis.call('ZADD', K[4], tonumber(redis.call('HGET', K[1], 'created_ms') or '0'), id)
  end
end

-- Appends a timeline entry (JSON) and stamps the ticket as updated at now.
local function timeline (entry, now)
  redis.call('RPUSH', K[2], entry)
  redis.call('HSET', K[1], 'updated_ms', now)
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
