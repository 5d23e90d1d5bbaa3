-- Counts one notification to a recipient on a channel in the current rate
-- window, in the shard of the recipient's address (a recipient spans
-- tickets of every shard, so the counter cannot live with the ticket).
-- K[1] the counter of this window (notify:rate:<channel>:<digest>:<window>)
-- A[1] the most a window allows, A[2] the window (ms), A[3] '1' when urgent
-- Reply: ok, 0, 'pass' | 'defer'. A deferred one is not counted (it is
-- counted in the window it is sent in); an urgent one is counted and passes.
local n = redis.call('INCR', K[1])
if n == 1 then redis.call('PEXPIRE', K[1], 2 * tonumber(A[2])) end
if n > tonumber(A[1]) and A[3] ~= '1' then
  redis.call('DECR', K[1])
  return {'ok', 0, 'defer'}
end
return {'ok', 0, 'pass'}
