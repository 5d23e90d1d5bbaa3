-- Points a phone's index at a customer: a further phone is claimed here
-- before the customer lists it (intent first), a merge moves it. Or
-- releases a claim that a refused request made. The partner registry uses
-- it the same way for its CURVE key index (K[1] pk:<hex>, intake_partners.h).
-- K[1] ph:<digits>
-- A[1] customer id, A[2] an owner it may replace ('' none: only a free
--   index or one already the customer's), A[3] 'claim' | 'release'
-- Reply: ok; reject phone_taken, owner
local owner = redis.call('GET', K[1])
if A[3] == 'release' then
  if owner == A[1] then redis.call('DEL', K[1]) end
  return ok_quiet()
end
if owner and owner ~= A[1] and owner ~= A[2] then return reject('phone_taken', owner) end
redis.call('SET', K[1], A[1])
return ok_quiet()
