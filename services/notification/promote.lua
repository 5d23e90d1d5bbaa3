-- Moves retries that are due back to the pending list (at most A[2]).
-- K[1] retry set, K[2] pending list; A[1] now ms, A[2] limit
local due = redis.call('ZRANGEBYSCORE', K[1], '-inf', A[1], 'LIMIT', 0, tonumber(A[2]))
for i = 1, #due do
  redis.call('ZREM', K[1], due[i])
  redis.call('LPUSH', K[2], due[i])
end
return {'ok', 0, tostring(#due)}
