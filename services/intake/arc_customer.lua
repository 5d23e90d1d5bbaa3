-- Creates a customer together with the index of its first phone (both in
-- the phone's shard: the customer id is minted there), or finds the
-- customer the phone already names. Never two customers for one phone.
-- K[1] ph:<digits>, K[2] c:<cid>, K[3] c:<cid>:tickets, K[4] c:<cid>:units
-- A[1] map: cid (freshly minted), fields (field, value, ...), find (true:
--   answer 'found' with the owner instead of refusing), expect (an owner
--   the caller saw does not exist: a dangling index it may take; '' none),
--   ticket ('' none) and created_ms, serial ('' none): what the new
--   customer already references
-- Reply: ok, 0, '', 'created' | 'found', customer id;
--   reject phone_taken, owner
local a = arg(1)
local owner = redis.call('GET', K[1])
if owner and owner ~= a.cid and owner ~= a.expect then
  if a.find then return ok_quiet('found', owner) end
  return reject('phone_taken', owner)
end
redis.call('SET', K[1], a.cid)
if redis.call('EXISTS', K[2]) == 0 then redis.call('HSET', K[2], unpack(a.fields)) end
if a.ticket ~= '' then redis.call('ZADD', K[3], 'NX', a.created_ms, a.ticket) end
if a.serial ~= '' then redis.call('SADD', K[4], a.serial) end
return ok_quiet('created', a.cid)
