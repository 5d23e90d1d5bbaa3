-- ticket.redispatched -> the previous work order is cancelled (if still
-- open) and the new one created pending, once, in one step.
-- K[1] rt:wo:<new wo_id>, K[2] rt:open, K[3] rt:wo:<previous wo_id>, K[4] rt:unroutable
-- A[1] map: as wo_create's
if seen() then return dup(view()) end
local a = arg(1)
cancel_wo(K[3], K[2], K[4], a.now)
if redis.call('EXISTS', W) == 1 then return stale('work_order_exists', view()) end
create_wo(a, K[2])
return ok_quiet(view())
