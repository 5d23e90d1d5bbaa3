-- ticket.redispatched: the ticket has a new work order (generation); the
-- record starts over for it. The earlier work order, if its partner
-- reported it done, was not a first-time fix after all ('redone'); a
-- reopen (A[2] '1': the same fault came back after closing) also counts a
-- repeat repair against that partner, for its quality score.
-- K[1..4] (common.lua)
-- A[1] new wo id, A[2] repeat repair ('1' | '0'), A[3] ticket
if seen() then return dup() end
local recorded = redis.call('HGET', K[1], 'wo_id')
if recorded and gen_of(recorded) >= gen_of(A[1]) then return stale('already_newer') end
local done = redis.call('HMGET', K[1], 'partner_id', 'result')
if done[1] then
  if done[2] and done[2] ~= 'not_fixed' then count(done[1], 'redone') end
  if A[2] == '1' then count(done[1], 'repeats') end
end
new_generation(A[3], A[1])
return ok_quiet()
