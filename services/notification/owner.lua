-- Remembers a ticket's new owning agent on its contact (the rules' "owner"
-- recipient), once per bus message. A contact that expired or never was
-- (the ticket predates notification's record) is left alone.
-- K[1] the ticket's contact hash; A[1] the new owner
if seen() then return dup() end
if redis.call('EXISTS', K[1]) == 0 then return stale('no_contact') end
redis.call('HSET', K[1], 'owner', A[1])
return {'ok', 0, ''}
