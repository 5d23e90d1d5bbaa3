-- Starts clocks for a ticket, once each: a warning and a breach timer per
-- clock in the due set (members ticket|clock|phase|due_ms). A clock that
-- already exists (in any state) is left alone, so a redelivered event never
-- restarts it.
-- K[1] due set, K[2] ticket's clock hash
-- A = { ticket, clock, warn_ms, due_ms, clock, warn_ms, due_ms, ... }
if seen() then return dup() end
local started = 0
for i = 2, #A, 3 do
  local clock, warn, due = A[i], A[i + 1], A[i + 2]
  if redis.call('HSETNX', K[2], clock, 'running') == 1 then
    redis.call('HSET', K[2], clock .. ':due', due)
    local member = A[1] .. '|' .. clock
    redis.call('ZADD', K[1], warn, member .. '|warning|' .. due, due, member .. '|breach|' .. due)
    started = started + 1
  end
end
return {'ok', 0, tostring(started)}
