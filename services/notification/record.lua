-- Records one notification and queues it for delivery, once per bus message.
-- K[1] notification hash, K[2] the ticket's contact hash, K[3] pending list,
-- K[4] retry set
-- A[1] notification id, A[2] ticket, A[3] event, A[4] template, A[5] audience,
-- A[6] lang, A[7] text, A[8] data (JSON), A[9] created ms, A[10] source message
-- id, A[11] trace id, A[12] contact: 'set' (ticket.created: remember A[13],
-- A[14] for A[15] s), 'get' (use the remembered one), 'none' (staff),
-- A[16] most notifications waiting (pending + retry)
-- Reply: ok, 0, notification id, phone ('' when the contact is unknown)
-- Full queue: an error, before anything is written, so the event is not
-- acknowledged and its producer's outbox sends it again later.
if redis.call('LLEN', K[3]) + redis.call('ZCARD', K[4]) >= tonumber(A[16]) then
  return redis.error_reply('notification queue full (' .. A[16] .. ' waiting); resend later')
end
if seen() then return dup() end
-- The id derives from the source message and the template: a resend that
-- comes after the inbox entry expired still finds what it made.
if redis.call('EXISTS', K[1]) == 1 then return stale('notification ' .. A[1] .. ' exists') end
local name, phone, known = '', '', '0'
if A[12] == 'set' then
  redis.call('HSET', K[2], 'name', A[13], 'phone', A[14])
  redis.call('EXPIRE', K[2], tonumber(A[15]))
  name, phone, known = A[13], A[14], '1'
elseif A[12] == 'get' then
  local c = redis.call('HMGET', K[2], 'name', 'phone')
  if c[2] then name, phone, known = c[1] or '', c[2], '1' end
end
redis.call('HSET', K[1], 'id', A[1], 'ticket', A[2], 'event', A[3], 'template', A[4],
  'audience', A[5], 'lang', A[6], 'text', A[7], 'data', A[8], 'created_ms', A[9],
  'source', A[10], 'trace', A[11], 'to_known', known, 'to_name', name, 'to_phone', phone,
  'state', 'queued', 'attempts', 0)
redis.call('LPUSH', K[3], A[1])
return {'ok', 0, A[1], phone}
