-- partner.strike: whether the partner is removed by its three-strike
-- ladder, kept only when newer than what routing has (the ladder's
-- version orders them): a late or replayed event never undoes a newer one.
-- K[1] rt:removed (hash: partner id -> "<ladder version>|<1 removed, 0 not>")
-- A[1] partner id, A[2] ladder version, A[3] '1' removed, '0' not
-- Reply: ok; stale older_version; dup (the message was applied)
local cur = redis.call('HGET', K[1], A[1])
if cur and tonumber(string.match(cur, '^(%d+)')) >= tonumber(A[2]) then return stale('older_version') end
if seen() then return dup() end
redis.call('HSET', K[1], A[1], A[2] .. '|' .. A[3])
return ok_quiet()
