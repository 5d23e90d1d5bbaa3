-- Shared by feedback's scripts (appended after the prelude).
-- K[1] the ticket's feedback record, K[2] the shard's partner counts,
-- K[3] the shard's automatic closes (zset: "<ticket>|<wo_id>" -> when).

-- The generation of a work order id: W<ticket> is 1, W<ticket>.<n> is n.
local function gen_of(wo)
  return tonumber(string.match(wo, '%.(%d+)$') or '1')
end

-- The record's automatic close, if any, is dropped.
local function unplan_close(ticket)
  redis.call('ZREM', K[3], ticket .. '|' .. (redis.call('HGET', K[1], 'wo_id') or ''))
end

-- A new work order generation (ticket.redispatched, or the completion of
-- a newer work order that overtook it): the record starts over for it;
-- the partner counts keep what the earlier one earned.
local function new_generation(ticket, wo)
  unplan_close(ticket)
  redis.call('DEL', K[1])
  redis.call('HSET', K[1], 'wo_id', wo)
end
