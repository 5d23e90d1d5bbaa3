-- ticket.created -> a pending work order, once.
-- K[1] rt:wo:<wo_id>, K[2] rt:open (zset of open work orders, FIFO by score)
-- A: wo_id ticket trace kind tier priority category region summary now_ms
if seen() then return dup() end
if redis.call('EXISTS', W) == 1 then return stale('work order exists') end
redis.call('HSET', W, 'wo_id', A[1], 'ticket', A[2], 'trace', A[3], 'kind', A[4],
  'tier', A[5], 'priority', A[6], 'category', A[7], 'region', A[8], 'summary', A[9],
  'state', 'pending', 'partner', '', 'attempt', '0', 'offer_id', '', 'seq', '0',
  'nprog', '0', 'created_ms', A[10], 'updated_ms', A[10])
redis.call('ZADD', K[2], A[10], A[1])
return ok_quiet()
