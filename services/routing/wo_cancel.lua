-- ticket.cancelled -> its work order is cancelled, once.
-- K[1] rt:wo:<wo_id>, K[2] rt:open, K[3] rt:unroutable. A[1] now_ms
if seen() then return dup(view()) end
cancel_wo(W, K[2], K[3], A[1])
return ok_quiet(view())
