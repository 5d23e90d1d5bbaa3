-- Shared by routing's work order scripts (appended after the prelude).
-- K[1] is the work order hash rt:wo:<wo_id>. Its fields:
--   wo_id ticket trace kind tier priority category region summary
--   installer area   (optional: '' when unknown)
--   state      pending | offered | assigned | completed
--   partner    the partner it is offered or assigned to ('' when pending)
--   attempt    number of the current (or last) offer; offer_id = wo_id.attempt
--   offer_id   the current offer ('' when pending)
--   o.<n>      partner of offer n        d.<n>  '1' when offer n was declined
--   x.<p>      'declined' | 'expired': partner p is not offered it again
--   s.<seq>    stage of PROGRESS seq     seq    highest seq   nprog  count
--   choice     why the current (or last) offer went to its partner
--   refusals   declines and lapses         escalated  '1' once refusals_exceeded was sent
--   unroutable 'no_eligible_partner' while in rt:unroutable
--   override   partner a supervisor chose, until it is offered it
-- Every reply carries the state after the step as its extra values, so
-- routing's in-memory mirror follows what was committed:
--   { code, emitted, why, state, partner, attempt, seq }
-- e.g. return ok(view()), reject('not_yours', view()).
local W = K[1]

local function field(f)
  return redis.call('HGET', W, f) or ''
end

local function view()
  local v = redis.call('HMGET', W, 'state', 'partner', 'attempt', 'seq')
  return v[1] or '', v[2] or '', v[3] or '0', v[4] or '0'
end

-- Creates work order W as pending, from a (wo_id ticket trace kind tier
-- priority category region summary installer area now) and queues it in
-- open (rt:open).
local function create_wo(a, open)
  redis.call('HSET', W, 'wo_id', a.wo_id, 'ticket', a.ticket, 'trace', a.trace, 'kind', a.kind,
    'tier', a.tier, 'priority', a.priority, 'category', a.category, 'region', a.region,
    'summary', a.summary, 'installer', a.installer or '', 'area', a.area or '', 'state', 'pending', 'partner', '', 'attempt', '0', 'offer_id', '',
    'seq', '0', 'nprog', '0', 'created_ms', a.now, 'updated_ms', a.now)
  redis.call('ZADD', open, a.now, a.wo_id)
end

-- Cancels work order key (its ticket was cancelled or re-dispatched)
-- unless it is already final; one that does not exist yet gets a
-- tombstone, so that a late ticket.created never brings it back. Its
-- partner stays named (for the record) but no offer is current, so an
-- ACCEPT of it is refused. Kept for the inbox TTL, like a completed one.
-- It leaves the unroutable queue too.
local function cancel_wo(key, open, unroutable, now)
  local st = redis.call('HGET', key, 'state')
  if st == 'completed' or st == 'cancelled' then return end
  redis.call('HSET', key, 'state', 'cancelled', 'offer_id', '', 'cancelled_ms', now, 'updated_ms', now)
  redis.call('ZREM', open, redis.call('HGET', key, 'wo_id') or '')
  redis.call('ZREM', unroutable, redis.call('HGET', key, 'wo_id') or '')
  if TTL > 0 then redis.call('EXPIRE', key, TTL) end
end
