-- Registers or changes a product unit, in its serial's shard.
-- K[1] u:<serial>
-- A[1] map: mode ('create' | 'patch' | 'owner'), fields (field, value,
--   ...), attributes (JSON object merged into the unit's; a null value
--   removes that attribute; '' none), part (JSON object appended to the
--   unit's parts; '' none), parts_max, from and to (mode owner: the unit
--   moves to 'to' only while it belongs to 'from'), now
-- Reply: ok; reject unit_exists (its customer) | unknown_unit |
--   too_many_parts
local a = arg(1)
local exists = redis.call('EXISTS', K[1]) == 1
if a.mode == 'create' then
  if exists then return reject('unit_exists', redis.call('HGET', K[1], 'customer') or '') end
  redis.call('HSET', K[1], unpack(a.fields))
  if a.attributes ~= '' then redis.call('HSET', K[1], 'attributes', a.attributes) end
  redis.call('HSET', K[1], 'updated_ms', a.now)
  return ok_quiet()
end
if not exists then return reject('unknown_unit') end
if a.mode == 'owner' then
  if redis.call('HGET', K[1], 'customer') == a.from then
    redis.call('HSET', K[1], 'customer', a.to, 'updated_ms', a.now)
  end
  return ok_quiet()
end
-- Every check before the first write: Redis does not roll a script back.
local parts
if a.part ~= '' then
  parts = cjson.decode(redis.call('HGET', K[1], 'parts') or '[]')
  if #parts >= a.parts_max then return reject('too_many_parts') end
  table.insert(parts, cjson.decode(a.part))
end
if #a.fields > 0 then redis.call('HSET', K[1], unpack(a.fields)) end
if parts then redis.call('HSET', K[1], 'parts', cjson.encode(parts)) end
if a.attributes ~= '' then
  local attrs = cjson.decode(redis.call('HGET', K[1], 'attributes') or '{}')
  for k, v in pairs(cjson.decode(a.attributes)) do
    if v == cjson.null then attrs[k] = nil else attrs[k] = v end
  end
  -- cjson writes an empty table as {}: right for an object.
  redis.call('HSET', K[1], 'attributes', cjson.encode(attrs))
end
redis.call('HSET', K[1], 'updated_ms', a.now)
return ok_quiet()
