-- Shared by routing's work order scripts (appended after the prelude).
-- K[1] is the work order hash rt:wo:<wo_id>. Its fields:
--   wo_id ticket trace kind tier priority category region summary
--   state      pending | offered | assigned | completed
--   partner    the partner it is offered or assigned to ('' when pending)
--   attempt    number of the current (or last) offer; offer_id = wo_id.attempt
--   offer_id   the current offer ('' when pending)
--   o.<n>      partner of offer n        d.<n>  '1' when offer n was declined
--   x.<p>      'declined' | 'expired': partner p is not offered it again
--   s.<seq>    stage of PROGRESS seq     seq    highest seq   nprog  count
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
