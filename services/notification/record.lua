-- Records one notification and queues it for delivery, once per bus message.
-- K[1] notification hash, K[2] the ticket's contact hash, K[3] pending list,
-- K[4] retry set (all of the ticket's shard)
-- A[1] map: id, ticket, event, template, audience, lang, text, data (JSON),
--   now (ms), source (message id), trace, contact: 'set' (ticket.created:
--   remember name and phone for contact_ttl_s), 'get' (use the remembered
--   one), 'none' (staff); max_waiting (pending + retry in this shard)
-- Reply: ok, 0, notification id, phone ('' when the contact is unknown)
-- Full queue: an error, before anything is written, so the event is not
-- acknowledged and its producer's outbox sends it again later.
local a = arg(1)
if redis.call('LLEN', K[3]) + redis.call('ZCARD', K[4]) >= a.max_waiting then
  return redis.error_reply('notification queue full (' .. a.max_waiting .. ' waiting); resend later')
end
if seen() then return dup() end
-- The id derives from the source message and the template: a resend that
-- comes after the inbox entry expired still finds what it made.
if redis.call('EXISTS', K[1]) == 1 then return stale('notification_exists') end
local name, phone, known = '', '', '0'
if a.contact == 'set' then
  redis.call('HSET', K[2], 'name', a.name, 'phone', a.phone)
  redis.call('EXPIRE', K[2], a.contact_ttl_s)
  name, phone, known = a.name, a.phone, '1'
elseif a.contact == 'get' then
  local c = redis.call('HMGET', K[2], 'name', 'phone')
  if c[2] then name, phone, known = c[1] or '', c[2], '1' end
end
redis.call('HSET', K[1], 'id', a.id, 'ticket', a.ticket, 'event', a.event, 'template', a.template,
  'audience', a.audience, 'lang', a.lang, 'text', a.text, 'data', a.data, 'created_ms', a.now,
  'source', a.source, 'trace', a.trace, 'to_known', known, 'to_name', name, 'to_phone', phone,
  'state', 'queued', 'attempts', 0)
redis.call('LPUSH', K[3], a.id)
return {'ok', 0, a.id, phone}
