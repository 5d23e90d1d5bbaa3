-- Changes an existing customer, in its shard: fields, phones added (their
-- index was claimed first), units and tickets it references. A customer
-- merged into another is not changed: the reply names the one it was
-- merged into, and the caller follows it.
-- K[1] c:<cid>, K[2] c:<cid>:tickets, K[3] c:<cid>:units
-- A[1] map: fields (field, value, ...), phones (to add), units (serials to
--   add), tickets (created_ms, id, ... to add), now
-- Reply: ok, 0, '', 'ok' | 'merged', merged into ('' when not), name,
--   phones, region, address, class, language, email, channel, tz; reject
--   unknown_customer
local a = arg(1)
if redis.call('EXISTS', K[1]) == 0 then return reject('unknown_customer') end
local into = redis.call('HGET', K[1], 'merged_into')
if into then return ok_quiet('merged', into) end
if #a.fields > 0 then redis.call('HSET', K[1], unpack(a.fields)) end
if #a.phones > 0 then
  -- A phone is its digits: "+86 138..." and "86138..." are one phone.
  local have = redis.call('HGET', K[1], 'phones') or ''
  local known = {}
  for p in string.gmatch(have, '[^,]+') do known[p:gsub('%D', '')] = true end
  for _, p in ipairs(a.phones) do
    local d = p:gsub('%D', '')
    if not known[d] then
      have = have == '' and p or have .. ',' .. p
      known[d] = true
    end
  end
  redis.call('HSET', K[1], 'phones', have)
end
if #a.fields > 0 or #a.phones > 0 then redis.call('HSET', K[1], 'updated_ms', a.now) end
for _, s in ipairs(a.units) do redis.call('SADD', K[3], s) end
for i = 1, #a.tickets, 2 do redis.call('ZADD', K[2], 'NX', a.tickets[i], a.tickets[i + 1]) end
local f = redis.call('HMGET', K[1], 'name', 'phones', 'region', 'address', 'class', 'language', 'email',
  'channel', 'tz')
return ok_quiet('ok', '', f[1] or '', f[2] or '', f[3] or '', f[4] or '', f[5] or '', f[6] or '',
  f[7] or '', f[8] or '', f[9] or '')
