-- Takes a customer's survey answer once, only after the work is completed,
-- and passes it to feedback.
-- K[1..TK] the ticket's keys (ticket.lua), K[TK+1] survey marker
-- A[1] now ms, A[2] timeline entry (JSON), A[3] rank of 'completed'
if redis.call('EXISTS', K[1]) == 0 then return reject('unknown_ticket') end
if redis.call('EXISTS', K[TK + 1]) == 1 then return stale('already_answered') end
local rank = tonumber(redis.call('HGET', K[1], 'rank') or '0')
if rank < tonumber(A[3]) then return stale('not_completed') end
redis.call('SET', K[TK + 1], A[1])
timeline(A[2], A[1])
return ok()
