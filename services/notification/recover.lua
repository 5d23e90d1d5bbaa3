-- At start-up: whatever a stopped or crashed process left in processing
-- goes back to the front of the pending list, so it is sent again (at
-- least once; the receiver drops repeats by the Idempotency-Key).
-- K[1] processing list, K[2] pending list
local n = 0
while redis.call('LMOVE', K[1], K[2], 'LEFT', 'RIGHT') do n = n + 1 end
return {'ok', 0, tostring(n)}
