-- Creates a ticket, its first timeline entry and its ticket.created messages,
-- atomically. With an idempotency key already used, returns the earlier ticket.
-- K[1] ticket hash, K[2] timeline list, K[3] idempotency key or ''
-- A[1] ticket id, A[2] timeline entry (JSON), A[3] idempotency ttl s,
-- A[4..] field, value pairs
if K[3] ~= '' then
  local earlier = redis.call('GET', K[3])
  if earlier then return {'ok', 0, 'exists', earlier} end
end
if redis.call('EXISTS', K[1]) == 1 then return reject('ticket id collision') end
local fields = {}
for i = 4, #A do fields[#fields + 1] = A[i] end
redis.call('HSET', K[1], unpack(fields))
redis.call('RPUSH', K[2], A[2])
if K[3] ~= '' then redis.call('SET', K[3], A[1], 'EX', tonumber(A[3])) end
emit()
return {'ok', 1, 'created', A[1]}
