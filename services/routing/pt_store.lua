-- Keeps routing's copy of a partner's registry record (partner.changed),
-- in the partner's shard, only when it is newer than the one it has: a
-- late or replayed message never brings an old record back.
-- K[1] rt:partners (hash: partner id -> record, msgpack)
-- A[1] partner id, A[2] version, A[3] the record (msgpack)
-- Reply: ok (stored); stale older_version; dup (the message was applied)
local cur = redis.call('HGET', K[1], A[1])
if cur then
  local old = cmsgpack.unpack(cur)
  if tonumber(old.version or 0) >= tonumber(A[2]) then return stale('older_version') end
end
if seen() then return dup() end
redis.call('HSET', K[1], A[1], A[3])
return ok_quiet()
