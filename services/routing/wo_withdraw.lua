-- Takes back an offer that lapsed or whose partner went silent or left.
-- A: offer_id, partner, exclusion ('expired', or '' to offer it again later), now_ms
if field('state') ~= 'offered' or field('partner') ~= A[2] or field('offer_id') ~= A[1] then
  return stale('offer_no_longer_current', view())
end
redis.call('HSET', W, 'state', 'pending', 'partner', '', 'offer_id', '', 'updated_ms', A[4])
if A[3] ~= '' then
  redis.call('HSET', W, 'x.' .. A[2], A[3])
  redis.call('HINCRBY', W, 'refusals', 1)
end
return ok(view())
