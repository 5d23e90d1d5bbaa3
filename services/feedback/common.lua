-- Shared by feedback's scripts (appended after the prelude).
-- K[1] the ticket's feedback record, K[2] the shard's partner counts,
-- K[3] the shard's automatic closes (zset: "<ticket>|<wo_id>" -> when),
-- K[4] the shard's partners whose counts changed (hash: partner -> changes;
-- feedback_score publishes their partner.scored and clears the mark).

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

-- Adds n (default 1) to the partner's count field in this shard, and marks
-- the partner for a new score, once per script: the mark changes in the
-- same step as the count, so no change can go unscored.
local marked = {}
local function count(partner, field, n)
  redis.call('HINCRBY', K[2], partner .. ':' .. field, n or 1)
  if not marked[partner] then
    marked[partner] = true
    redis.call('HINCRBY', K[4], partner, 1)
  end
end

-- The record's survey answer, counted for partner (survey.lua, or
-- completed.lua when the survey came first).
local function count_survey(partner)
  local answer = redis.call('HMGET', K[1], 'score', 'resolved', 'on_time')
  count(partner, 'surveys')
  count(partner, 'score_sum', tonumber(answer[1]))
  if answer[2] == '1' then count(partner, 'resolved') end
  if answer[3] == '1' or answer[3] == '0' then count(partner, 'arrivals') end
  if answer[3] == '0' then count(partner, 'late_arrivals') end
end
