-- ticket.redispatched: the ticket has a new work order (generation); the
-- record starts over for it. A reopen (A[2] '1': the same fault came
-- back after closing) counts a repeat repair against the partner of the
-- earlier work order, for its quality score.
-- K[1..3] (common.lua)
-- A[1] new wo id, A[2] repeat repair ('1' | '0'), A[3] ticket
if seen() then return dup() end
local recorded = redis.call('HGET', K[1], 'wo_id')
if recorded and gen_of(recorded) >= gen_of(A[1]) then return stale('already_newer') end
local partner = redis.call('HGET', K[1], 'partner_id')
if A[2] == '1' and partner then redis.call('HINCRBY', K[2], partner .. ':repeats', 1) end
new_generation(A[3], A[1])
return ok_quiet()
