-- Creates a ticket, its first timeline entry and its ticket.created messages,
-- atomically. With an idempotency key already used, returns the earlier ticket.
-- K[1] ticket hash, K[2] timeline list, K[3] idempotency key (only with one)
-- A[1] map: id, entry (timeline JSON), idem_ttl_s, fields (field, value, ...)
-- Reply: ok, emitted, 'created' | 'exists', ticket id
local a = arg(1)
if K[3] then
  local earlier = redis.call('GET', K[3])
  if earlier then return {'ok', 0, 'exists', earlier} end
end
if redis.call('EXISTS', K[1]) == 1 then return reject('ticket_id_collision') end
redis.call('HSET', K[1], unpack(a.fields))
redis.call('RPUSH', K[2], a.entry)
if K[3] then redis.call('SET', K[3], a.id, 'EX', a.idem_ttl_s) end
emit()
return {'ok', 1, 'created', a.id}
