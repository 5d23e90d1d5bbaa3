-- Claims an Idempotency-Key for a ticket request, in the key's own shard,
-- before anything else is written: the first request records the ticket
-- id it is about to create and its fingerprint; a retry gets that id back
-- and goes through the same (idempotent) steps, completing whatever an
-- earlier try left undone; another request with the same key is refused.
-- K[1] idem:<key> (hash: ticket, fingerprint)
-- A[1] ticket id (pre-minted), A[2] fingerprint, A[3] TTL (s)
-- Reply: ok, 0, '', 'claimed' | 'exists', ticket id;
--   reject idempotency_key_reused, the earlier ticket id
local earlier = redis.call('HMGET', K[1], 'ticket', 'fingerprint')
if earlier[1] then
  if earlier[2] ~= A[2] then return reject('idempotency_key_reused', earlier[1]) end
  return ok_quiet('exists', earlier[1])
end
redis.call('HSET', K[1], 'ticket', A[1], 'fingerprint', A[2])
redis.call('EXPIRE', K[1], A[3])
return ok_quiet('claimed', A[1])
