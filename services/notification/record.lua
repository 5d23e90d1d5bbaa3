-- Records one notification and queues it for delivery, once per bus message.
-- K[1] notification hash, K[2] the ticket's contact hash, K[3] pending list,
-- K[4] retry set (all of the ticket's shard)
-- A[1] map: id, ticket, event, template, audience, lang (the process
--   default), text.<lang>, subject.<lang> (the words and the e-mail
--   subject in each language), data (JSON), now
--   (ms), source (message id), trace, contact: 'set' (ticket.created:
--   remember name, phone, email, channel (preferred), clang (the
--   customer's language) and tz (their time zone) for contact_ttl_s), 'get' (use the remembered
--   one), 'none' (staff); channels (the configured channels, comma-
--   separated), default (the process default channel); max_waiting
--   (pending + retry in this shard)
-- Reply: ok, 0, notification id, phone ('' when the contact is unknown),
--   channel, wanted (a preferred channel not configured here, else '')
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
local name, phone, email, pref, clang, known = '', '', '', '', '', '0'
if a.contact == 'set' then
  redis.call('HSET', K[2], 'name', a.name, 'phone', a.phone, 'email', a.email,
    'channel', a.channel, 'lang', a.clang, 'tz', a.tz)
  redis.call('EXPIRE', K[2], a.contact_ttl_s)
  name, phone, email, pref, clang, known = a.name, a.phone, a.email, a.channel, a.clang, '1'
elseif a.contact == 'get' then
  local c = redis.call('HMGET', K[2], 'name', 'phone', 'email', 'channel', 'lang')
  if c[2] then
    name, phone, email, pref, clang, known = c[1] or '', c[2], c[3] or '', c[4] or '', c[5] or '', '1'
  end
end
-- The customer's preferred channel when it is configured here, else the
-- process default; a preference not configured here is reported, not lost.
local channel, wanted = a.default, ''
if pref ~= '' then
  if string.find(',' .. a.channels .. ',', ',' .. pref .. ',', 1, true) then
    channel = pref
  else
    wanted = pref
  end
end
local to = ''
if channel == 'sms' then to = phone elseif channel == 'email' then to = email end
-- The customer's language when there are words in it, else the default.
local lang = a.lang
if clang ~= '' and a['text.' .. clang] then lang = clang end
redis.call('HSET', K[1], 'id', a.id, 'ticket', a.ticket, 'event', a.event, 'template', a.template,
  'audience', a.audience, 'lang', lang, 'text', a['text.' .. lang],
  'subject', a['subject.' .. lang], 'data', a.data,
  'created_ms', a.now, 'source', a.source, 'trace', a.trace, 'to_known', known, 'to_name', name,
  'to_phone', phone, 'to_email', email, 'channel', channel, 'to', to, 'state', 'queued',
  'attempts', 0)
redis.call('LPUSH', K[3], a.id)
return {'ok', 0, a.id, phone, channel, wanted}
