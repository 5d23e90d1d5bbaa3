-- ticket.redispatched: the ticket has a new work order (generation); the
-- record starts over for it. The re-dispatch is a quality fact: the
-- earlier work order, if its partner reported it done, was not a
-- first-time fix after all ('redone'), and a reopen (A[2] '1': the same
-- fault came back after closing) is a repeat repair of the latest earlier
-- completion (common.lua's contribution, whichever arrives first).
-- K[1..13] (common.lua)
-- A[1] new wo id, A[2] repeat repair ('1' | '0'), A[3] ticket, A[4] the event's time,
-- A[5] settings
if seen() then return dup() end
fact_once('r' .. gen_of(A[1]), { ms = tonumber(A[4]), rep = A[2] == '1' })
settle()
local recorded = redis.call('HGET', K[1], 'wo_id')
if recorded and gen_of(recorded) >= gen_of(A[1]) then return stale('already_newer') end
new_generation(A[3], A[1])
return ok_quiet()
