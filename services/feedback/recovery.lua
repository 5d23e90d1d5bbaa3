-- recovery.recorded (intake): a service-recovery record closed or its
-- compensation set. The ticket's fact 'v' keeps each record's latest
-- revision (an older one arriving late changes nothing), and settle()
-- counts it (common.lua): whatever the order or repetition of the
-- record's events, the counts are those of its latest revision.
-- K[1..13] (common.lua)
-- A[1] record id, A[2] its revision, A[3] outcome, A[4] compensation
-- (minor units), A[5] opened_ms, A[6] the day's time (resolved_ms, or the
-- event's time while open), A[7] '1' when resolved fast, A[8] settings
if seen() then return dup() end
local all = fact_get('v') or {}
local old = all[A[1]]
if old and old.rev >= tonumber(A[2]) then return ok_quiet() end
all[A[1]] = { rev = tonumber(A[2]), out = A[3], amt = tonumber(A[4]), o = tonumber(A[5]),
              d = tonumber(A[6]), fast = A[7] == '1' }
redis.call('HSET', K[5], 'v', cjson.encode(all))
settle()
return ok_quiet()
