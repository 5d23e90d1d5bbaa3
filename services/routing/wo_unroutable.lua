-- Records that a work order is unroutable, once per reason
-- (workorder.unroutable). K[2] rt:unroutable. A: reason, now_ms
--   no_eligible_partner: a pending order no partner could fit joins the
--     shard's unroutable queue until it is offered or cancelled;
--   refusals_exceeded: too many declines or lapses (escalation); it stays
--     in routing's rounds.
local st = field('state')
if st == '' then return reject('unknown_work_order', view()) end
if A[1] == 'refusals_exceeded' then
  if field('escalated') == '1' then return dup(view()) end
  if st ~= 'pending' and st ~= 'offered' then return stale('not_open', view()) end
  redis.call('HSET', W, 'escalated', '1', 'updated_ms', A[2])
  return ok(view())
end
if field('unroutable') ~= '' then return dup(view()) end
if st ~= 'pending' then return stale('not_pending', view()) end
redis.call('HSET', W, 'unroutable', A[1], 'unroutable_ms', A[2], 'updated_ms', A[2])
redis.call('ZADD', K[2], A[2], field('wo_id'))
return ok(view())
