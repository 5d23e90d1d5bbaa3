-- A strike was delivered to the partner's ladder as A[2]: it is recorded
-- as sent, and its queue entry dropped unless the strike changed again
-- since it was read (then the next tick delivers the newer one).
-- K[1] the shard's strikes to deliver, K[2] the shard's strikes delivered
-- A[1] strike id, A[2] its attribution as read and delivered ('' none)
if redis.call('HGET', K[1], A[1]) == A[2] then redis.call('HDEL', K[1], A[1]) end
if A[2] == '' then
  redis.call('HDEL', K[2], A[1])
else
  redis.call('HSET', K[2], A[1], A[2])
end
return ok_quiet()
