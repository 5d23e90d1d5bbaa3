-- quality.warning: a rising rate of the early warning (common/asp_report.h)
-- is published once per scope, id and metric per UTC day, however many
-- ticks (or restarts) find it: the day it last went out is kept.
-- K[1] the shard's published warnings (fb:warned, hash
-- "<scope>|<id>|<metric>" -> the UTC day it was last published)
-- A[1] the field, A[2] today (UTC days since 1970)
local last = tonumber(redis.call('HGET', K[1], A[1]) or '-1')
if last >= tonumber(A[2]) then return stale('already_today') end
redis.call('HSET', K[1], A[1], A[2])
return ok()
