-- Records that a ticket waits for the customer (A[2] '1') or resumed
-- ('0'), once per message, on the ticket's clock hash. Nothing pauses yet:
-- the pausing policy reads this flag and its time (issue 8).
-- K[1] due set (unused), K[2] ticket's clock hash
-- A = { ticket, waiting, event time ms }
if seen() then return dup() end
redis.call('HSET', K[2], 'waiting', A[2], 'waiting_ms', A[3])
return ok_quiet()
