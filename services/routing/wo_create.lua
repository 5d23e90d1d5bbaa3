-- ticket.created -> a pending work order, once.
-- K[1] rt:wo:<wo_id>, K[2] rt:open (zset of open work orders, FIFO by score)
-- A[1] map: wo_id ticket trace kind tier priority category region summary now
if seen() then return dup(view()) end
if redis.call('EXISTS', W) == 1 then return stale('work_order_exists', view()) end
local a = arg(1)
redis.call('HSET', W, 'wo_id', a.wo_id, 'ticket', a.ticket, 'trace', a.trace, 'kind', a.kind,
  'tier', a.tier, 'priority', a.priority, 'category', a.category, 'region', a.region,
  'summary', a.summary, 'state', 'pending', 'partner', '', 'attempt', '0', 'offer_id', '',
  'seq', '0', 'nprog', '0', 'created_ms', a.now, 'updated_ms', a.now)
redis.call('ZADD', K[2], a.now, a.wo_id)
return ok_quiet(view())
