-- Creates a ticket in its unit's shard: the unit (found, or registered
-- from the request's product data), the unit's ticket list, the ticket,
-- its first timeline entry and its ticket.created messages, atomically.
-- The customer's step (its own shard) ran before and already lists the
-- ticket (intent first). A ticket that exists already was made by an
-- earlier try of the same request (its Idempotency-Key claimed the id,
-- idem.lua): answered, not made again.
-- K[1..TK] the ticket's keys (ticket.lua), K[TK+1] u:<serial>,
--   K[TK+2] u:<serial>:tickets
-- A[1] map: id, entry (timeline JSON), status, claimed (the id came from
--   an Idempotency-Key), created_ms, customer (id), fields (field, value,
--   ...: everything but status and rank), unit (field, value, ... of a
--   new unit; empty: the unit must exist), fault_key (type:fault),
--   expect_last (the unit's latest ticket for that fault as the caller
--   read it, '' for none)
-- Reply: ok, emitted, 'created' | 'exists', ticket id;
--   reject unknown_unit | ticket_id_collision | unit_changed (decide again)
local a = arg(1)
if redis.call('EXISTS', K[1]) == 1 then
  if a.claimed then return {'ok', 0, 'exists', a.id} end
  return reject('ticket_id_collision')
end
local unit, units = K[TK + 1], K[TK + 2]
-- The unit's latest ticket for this fault must still be the one the
-- caller decided on (join, reopen or new): a concurrent request for the
-- same fault would otherwise open a second ticket.
local fault = 'fault:' .. a.fault_key
if (redis.call('HGET', unit, fault) or '') ~= a.expect_last then return reject('unit_changed') end
if redis.call('EXISTS', unit) == 0 then
  if #a.unit == 0 then return reject('unknown_unit') end
  redis.call('HSET', unit, unpack(a.unit))
elseif a.customer ~= '' and not redis.call('HGET', unit, 'customer') then
  -- A unit registered without an owner belongs to its first caller.
  redis.call('HSET', unit, 'customer', a.customer, 'updated_ms', a.created_ms)
end
redis.call('ZADD', units, a.created_ms, a.id)
redis.call('HSET', unit, fault, a.id)
-- How many tickets this unit had for the fault: the 三包 repair history.
redis.call('HINCRBY', unit, 'faults:' .. a.fault_key, 1)
redis.call('HSET', K[1], unpack(a.fields))
set_status(a.status, 0)
redis.call('RPUSH', K[2], a.entry)
emit()
return {'ok', 1, 'created', a.id}
