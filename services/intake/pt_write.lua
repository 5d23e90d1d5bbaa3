-- Writes a partner's record and emits partner.changed (the record, whose
-- version the caller set to the stored one + 1) in one atomic step, in the
-- partner's shard (intake_partners.h).
-- K[1] pt:<partner_id>, K[2] pt:all
-- A[1] map: mode ('create' | 'update'), id, version (the stored version
--   an update expects), fields (field, value, ... for the hash)
-- Reply: ok (emitted); reject partner_exists | not_found |
--   partner_removed; stale partner_changed (another change came first)
local a = arg(1)
local exists = redis.call('EXISTS', K[1]) == 1
if a.mode == 'create' then
  if exists then return reject('partner_exists') end
else
  if not exists then return reject('not_found') end
  local cur = redis.call('HMGET', K[1], 'version', 'status')
  -- Removed is final: nothing changes a removed partner again.
  if cur[2] == 'removed' then return reject('partner_removed') end
  if tonumber(cur[1]) ~= tonumber(a.version) then return stale('partner_changed') end
end
redis.call('HSET', K[1], unpack(a.fields))
redis.call('ZADD', K[2], 0, a.id)
return ok()
