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
