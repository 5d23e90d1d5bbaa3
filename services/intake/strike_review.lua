-- Ops' review of a strike on a partner's three-strike ladder: the ladder
-- (feedback's, only read here) must have the strike; then strike.reviewed
-- tells feedback, which applies it (feedback_strikes.h). In the partner's
-- shard.
-- K[1] fb:ladder:<partner_id> (common/asp_quality.h)
-- A[1] strike id
-- Reply: ok (emitted); reject unknown_strike
if redis.call('HEXISTS', K[1], 's|' .. A[1]) == 0 then return reject('unknown_strike') end
return ok()
