-- partner.scored: a partner's quality score (‰), once per message.
-- K[1] rt:scores (the partner's shard). A: partner, score
if seen() then return dup() end
redis.call('HSET', K[1], A[1], A[2])
return ok_quiet()
