-- ticket.created -> a pending work order, once.
-- K[1] rt:wo:<wo_id>, K[2] rt:open (zset of open work orders, FIFO by score)
-- A[1] map: wo_id ticket trace kind tier priority category region summary now
if seen() then return dup(view()) end
if redis.call('EXISTS', W) == 1 then return stale('work_order_exists', view()) end
create_wo(arg(1), K[2])
return ok_quiet(view())
