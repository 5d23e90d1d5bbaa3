-- Sums one subject's counts over two windows of days, in the shard (read
-- only): the day fields stay in Redis, only the sums travel.
-- K[1] the shard's counts by day (fb:days)
-- A[1] subject ("p|<partner>" or "t|<partner>|<technician>"), A[2] today
-- (UTC days since 1970), A[3] the short window, A[4] the long window (days,
-- today included), A[5]... the count names
-- Reply: the short window's sums, then the long window's, in A[5..]'s order.
local today, short, long = tonumber(A[2]), tonumber(A[3]), tonumber(A[4])
local n = #A - 4
local fields = {}
for d = 0, long - 1 do
  local day = string.format('%d', today - d)
  for c = 1, n do fields[#fields + 1] = day .. '|' .. A[4 + c] .. '|' .. A[1] end
end
local v = redis.call('HMGET', K[1], unpack(fields))
local out = {}
for i = 1, 2 * n do out[i] = 0 end
for i = 1, #fields do
  if v[i] then
    local d, c = math.floor((i - 1) / n), (i - 1) % n + 1
    out[n + c] = out[n + c] + tonumber(v[i])
    if d < short then out[c] = out[c] + tonumber(v[i]) end
  end
end
return out
