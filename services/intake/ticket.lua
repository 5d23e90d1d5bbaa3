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
--   K[7] the shard's unroutable queue (zset: since_ms -> ticket id)
-- and its own keys after them: K[TK + 1], K[TK + 2], ...
local TK = 7

-- Statuses a ticket leaves only by an explicit staff action (reopen).
local TERMINAL = { closed = true, cancelled = true }

-- Takes the ticket out of the unroutable queue (K[7]) and drops its flag:
-- its work order was offered or assigned after all, was replaced by a new
-- generation, or the ticket ended.
local function clear_unroutable ()
  redis.call('ZREM', K[7], redis.call('HGET', K[1], 'id'))
  redis.call('HDEL', K[1], 'unroutable', 'unroutable_ms')
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
