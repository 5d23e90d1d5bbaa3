-- Stops clocks of a ticket: the work they measured is done. A clock that
-- never started is marked stopped so a late start does not run it.
-- K[1] due set, K[2] ticket's clock hash
-- A = { ticket, clock, clock, ... }
if seen() then return dup() end
for i = 2, #A do
  local clock = A[i]
  local state = redis.call('HGET', K[2], clock)
  if state ~= 'breached' then redis.call('HSET', K[2], clock, 'stopped') end
  local due = redis.call('HGET', K[2], clock .. ':due')
  if due then
    local member = A[1] .. '|' .. clock
    redis.call('ZREM', K[1], member .. '|warning|' .. due, member .. '|breach|' .. due)
  end
end
return ok_quiet()
