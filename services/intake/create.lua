-- Creates a ticket, its first timeline entry and its ticket.created messages,
-- atomically. With an idempotency key already used for the same request
-- (its fingerprint), returns the earlier ticket; for another request,
-- refuses (idempotency_key_reused).
-- K[1..TK] the ticket's keys (ticket.lua), K[TK+1] idempotency key hash
--   (only with one: ticket, fingerprint)
-- A[1] map: id, entry (timeline JSON), idem_ttl_s, fingerprint, status,
--   fields (field, value, ...: everything but status and rank)
-- Reply: ok, emitted, 'created' | 'exists', ticket id
local a = arg(1)
local idem = K[TK + 1]
if idem then
  local earlier = redis.call('HMGET', idem, 'ticket', 'fingerprint')
  if earlier[1] then
    if earlier[2] ~= a.fingerprint then return reject('idempotency_key_reused', earlier[1]) end
    return {'ok', 0, 'exists', earlier[1]}
  end
end
if redis.call('EXISTS', K[1]) == 1 then return reject('ticket_id_collision') end
redis.call('HSET', K[1], unpack(a.fields))
set_status(a.status, 0)
redis.call('RPUSH', K[2], a.entry)
if idem then
  redis.call('HSET', idem, 'ticket', a.id, 'fingerprint', a.fingerprint)
  redis.call('EXPIRE', idem, a.idem_ttl_s)
end
emit()
return {'ok', 1, 'created', a.id}
