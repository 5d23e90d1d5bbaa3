-- Drops the shard's count fields of days before A[1] (older than
-- ASP_QUALITY_KEEP_D), at most A[2] of them: no window reads them again.
-- The same for the reports' months (older than ASP_REPORT_KEEP_M): their
-- index is scored yyyymm, A[1] the first month kept.
-- K[1] the shard's counts by day (fb:days), K[2] their index (fb:dayidx);
-- or K[1] fb:months, K[2] fb:monthidx
-- A[1] the first day (month) kept, A[2] most fields dropped
local old = redis.call('ZRANGEBYSCORE', K[2], '-inf', '(' .. A[1], 'LIMIT', 0, tonumber(A[2]))
for _, f in ipairs(old) do
  redis.call('HDEL', K[1], f)
  redis.call('ZREM', K[2], f)
end
if #old == 0 then return ok_quiet() end
return ok_quiet(#old)
