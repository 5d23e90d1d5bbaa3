-- First step of a merge, in the duplicate's shard: marks it merged into
-- the surviving customer and answers what moves (phones, units, tickets).
-- The mark comes first so readers follow it at once; a retry of the same
-- merge gets the same answer and completes the later steps (each one
-- idempotent). A customer merges into one other only.
-- K[1] c:<from>, K[2] c:<from>:tickets, K[3] c:<from>:units
-- A[1] the surviving customer's id, A[2] now
-- Reply: ok, 0, '', phones, units (array), tickets (array: id, score, ...);
--   reject unknown_customer; stale already_merged, the other customer
if redis.call('EXISTS', K[1]) == 0 then return reject('unknown_customer') end
local into = redis.call('HGET', K[1], 'merged_into')
if into and into ~= A[1] then return stale('already_merged', into) end
if not into then redis.call('HSET', K[1], 'merged_into', A[1], 'updated_ms', A[2]) end
return ok_quiet(redis.call('HGET', K[1], 'phones') or '', redis.call('SMEMBERS', K[3]),
                redis.call('ZRANGE', K[2], 0, -1, 'WITHSCORES'))
