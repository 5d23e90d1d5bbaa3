-- A partner's new score is published (partner.scored, through the outbox)
-- at most once per interval, and the partner's mark in this shard is
-- cleared if no count changed since the timer read it (then the next tick
-- scores it again). Without an interval it only clears the mark: the
-- marks of the partner's other shards, once its score went out. A crash
-- between the steps leaves a mark, so the score is published again, never
-- lost.
-- K[1] the shard's marks (common.lua's K[4]), K[2] the shard's last
-- published scores (hash: "<partner>:ms", "<partner>:score")
-- A[1] partner, A[2] its mark as read ('' none), A[3] now, A[4] interval ms
-- ('' only clear), A[5] score, A[6] the event's body as JSON (common/asp_quality.h:
-- what intake shows staff)
if A[4] ~= '' then
  local last = tonumber(redis.call('HGET', K[2], A[1] .. ':ms'))
  if last and tonumber(A[3]) - last < tonumber(A[4]) then return stale('too_soon') end
end
if A[2] ~= '' and redis.call('HGET', K[1], A[1]) == A[2] then redis.call('HDEL', K[1], A[1]) end
if A[4] == '' then return ok_quiet() end
redis.call('HSET', K[2], A[1] .. ':ms', A[3], A[1] .. ':score', A[5], A[1] .. ':body', A[6])
return ok()
