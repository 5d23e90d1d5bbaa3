-- A change of a partner's strike ladder (feedback_strikes.c computes it
-- from the ladder as read): applied, with its event, only if the ladder
-- did not change since it was read. Else nothing: the timer reads it
-- again next tick; a message (strike.reviewed) gets a Redis error, so it
-- is not answered and its sender sends it again.
-- K[1] the partner's ladder (hash: ver, removed, "s|<strike>" -> JSON)
-- A[1] its version as read ('' none), A[2..] field, value pairs (value
-- '' deletes the field)
if HI and redis.call('EXISTS', KEYS[1]) == 1 then return dup() end
local ver = redis.call('HGET', K[1], 'ver') or ''
if ver ~= A[1] then
  if HI then return redis.error_reply('ladder moved since it was read') end
  return stale('moved')
end
if seen() then return dup() end
for i = 2, #A - 1, 2 do
  if A[i + 1] == '' then
    redis.call('HDEL', K[1], A[i])
  else
    redis.call('HSET', K[1], A[i], A[i + 1])
  end
end
redis.call('HSET', K[1], 'ver', (tonumber(ver) or 0) + 1)
return ok()
