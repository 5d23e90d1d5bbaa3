-- ticket.override: a supervisor chose the partner; the work order waits
-- for it (routing offers it when the partner is live with credit, after
-- withdrawing any current offer), once per message.
-- A: partner, by (staff name), now_ms
local st = field('state')
if st == '' then return reject('unknown_work_order', view()) end
if st ~= 'pending' and st ~= 'offered' then return stale('not_open_for_override', view()) end
if seen() then return dup(view()) end
redis.call('HSET', W, 'override', A[1], 'override_by', A[2], 'override_ms', A[3], 'updated_ms', A[3])
return ok_quiet(view())
