-- Fires one due timer exactly once: only the caller that removes it from
-- the due set emits its event.
-- K[1] due set, K[2] ticket's clock hash
-- A[1] member, A[2] clock, A[3] phase (warning|breach)
if redis.call('ZREM', K[1], A[1]) == 0 then return stale('gone') end
if redis.call('HGET', K[2], A[2]) ~= 'running' then return stale('not_running') end
if A[3] == 'breach' then
  redis.call('HSET', K[2], A[2], 'breached')
end
redis.call('HINCRBY', K[2], A[2] .. ':fired_' .. A[3], 1)
return ok()
