-- Records an event's notifications (one per recipient the rules name) and
-- queues or schedules each, once per bus message.
-- K[1] the ticket's contact hash, K[2] pending list, K[3] retry set; then
-- for recipient i (1..n): K[2+2i] its notification hash, K[3+2i] its
-- de-duplication key (all of the ticket's shard)
-- A[1] map (the event): ticket, event, lang (the process default), data
--   (JSON), now (ms), source (message id), trace, contact: 'set'
--   (ticket.created: remember name, phone, email, channel (preferred),
--   clang (the customer's language), tz (their time zone), owner (the
--   owning agent), region and link (the customer's own link, which the
--   survey texts carry) for contact_ttl_s), 'get' (use the remembered one),
--   'none' (no customer among the recipients); channels (the configured
--   channels, comma-separated), default (the process default channel);
--   max_waiting (pending + retry in this shard)
-- A[1+i] map (recipient i): id, rcpt ('customer', 'owner:li.lei', ...),
--   audience, template, text.<lang>, subject.<lang>, channel ('' the
--   customer's preferred, 'default', or a channel word), name, phone,
--   email, hook (a staff member's addresses), lang ('' the customer's or
--   the default), urgent ('1' passes quiet hours and rate limits), due (ms:
--   the staff member's next business hour, 0 now), quiet.<channel> (ms:
--   when the customer's quiet hours on it end, 0 not quiet now),
--   rate.<channel> ('max/window_ms'), dedup_ms (0: never deduplicated)
-- Reply: ok, 0, '', then per recipient: id, rcpt, state ('queued',
--   'scheduled', 'deduplicated', or 'exists' when recorded before), channel,
--   wanted (a preferred channel not configured here, else '')
-- Full queue: an error, before anything is written, so the event is not
-- acknowledged and its producer's outbox sends it again later.
local a = arg(1)
if redis.call('LLEN', K[2]) + redis.call('ZCARD', K[3]) >= a.max_waiting then
  return redis.error_reply('notification queue full (' .. a.max_waiting .. ' waiting); resend later')
end
if seen() then return dup() end
local name, phone, email, pref, clang, known = '', '', '', '', '', '0'
if a.contact == 'set' then
  redis.call('HSET', K[1], 'name', a.name, 'phone', a.phone, 'email', a.email,
    'channel', a.channel, 'lang', a.clang, 'tz', a.tz, 'owner', a.owner, 'region', a.region,
    'link', a.link)
  redis.call('EXPIRE', K[1], a.contact_ttl_s)
  name, phone, email, pref, clang, known = a.name, a.phone, a.email, a.channel, a.clang, '1'
elseif a.contact == 'get' then
  local c = redis.call('HMGET', K[1], 'name', 'phone', 'email', 'channel', 'lang')
  if c[2] then
    name, phone, email, pref, clang, known = c[1] or '', c[2], c[3] or '', c[4] or '', c[5] or '', '1'
  end
end
local now = tonumber(a.now)
local reply, fresh = {'ok', 0, ''}, 0
for i = 1, #A - 1 do
  local r, kn, kd = arg(1 + i), K[2 + 2 * i], K[3 + 2 * i]
  -- The id derives from the source message, the template and the
  -- recipient: a resend after the inbox entry expired finds what it made.
  if redis.call('EXISTS', kn) == 1 then
    for _, v in ipairs({r.id, r.rcpt, 'exists', '', ''}) do reply[#reply + 1] = v end
  else
    fresh = fresh + 1
    local want, tknown, tname, tphone, temail = r.channel, '1', r.name, r.phone, r.email
    local tlang = r.lang
    if r.rcpt == 'customer' then
      if want == '' then want = pref end
      tknown, tname, tphone, temail, tlang = known, name, phone, email, clang
    elseif r.name == '' then
      tknown = '0'                    -- duty, ops, partner: routed by audience
    end
    -- The wanted channel when it is configured here, else the process
    -- default; a wish not configured here is reported, not lost.
    local channel, wanted = a.default, ''
    if want ~= '' and want ~= 'default' then
      if string.find(',' .. a.channels .. ',', ',' .. want .. ',', 1, true) then
        channel = want
      else
        wanted = want
      end
    end
    local to = ''
    if channel == 'sms' then to = tphone elseif channel == 'email' then to = temail
    elseif channel == 'webhook' then to = r.hook end
    -- The recipient's language when there are words in it, else the default.
    local lang = a.lang
    if tlang ~= '' and r['text.' .. tlang] then lang = tlang end
    local due = tonumber(r.due) or 0
    if r.urgent ~= '1' then
      local q = tonumber(r['quiet.' .. channel] or 0) or 0
      if q > due then due = q end
    end
    redis.call('HSET', kn, 'id', r.id, 'ticket', a.ticket, 'event', a.event, 'template', r.template,
      'audience', r.audience, 'rcpt', r.rcpt, 'lang', lang, 'text', r['text.' .. lang],
      'subject', r['subject.' .. lang], 'data', a.data,
      'created_ms', a.now, 'source', a.source, 'trace', a.trace, 'to_known', tknown, 'to_name', tname,
      'to_phone', tphone, 'to_email', temail, 'channel', channel, 'to', to, 'state', 'queued',
      'attempts', 0, 'urgent', r.urgent, 'rate', r['rate.' .. channel] or '')
    local state = 'queued'
    local window = tonumber(r.dedup_ms) or 0
    if window > 0 and not redis.call('SET', kd, r.id, 'PX', window, 'NX') then
      -- The same recipient, template and ticket (and clock) within the
      -- window: kept to be seen, never sent, gone with the inbox.
      state = 'deduplicated'
      redis.call('HSET', kn, 'state', state, 'duplicate_of', redis.call('GET', kd) or '')
      redis.call('EXPIRE', kn, TTL)
    elseif due > now then
      -- Quiet hours or the staff member's closed office: it waits in the
      -- retry set (promote.lua) like a retry, so a restart loses nothing.
      state = 'scheduled'
      redis.call('HSET', kn, 'state', state, 'due_ms', due)
      redis.call('ZADD', K[3], due, r.id)
    else
      redis.call('LPUSH', K[2], r.id)
    end
    for _, v in ipairs({r.id, r.rcpt, state, channel, wanted}) do reply[#reply + 1] = v end
  end
end
if fresh == 0 and #A > 1 then return stale('notification_exists') end
return reply
