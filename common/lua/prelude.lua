-- Prelude of every service script (asp_txn convention; see asp_txn.h).
-- KEYS = { inbox_key_or_empty, own keys..., outbox keys... }
-- ARGV = { n_own_keys, n_out, inbox_ttl_s, own args..., id1, msg1, ..., idN, msgN }
local NK = tonumber(ARGV[1]) or 0
local NO = tonumber(ARGV[2]) or 0
local TTL = tonumber(ARGV[3]) or 0
local NA = #ARGV - 3 - 2 * NO
local K = {}
for i = 1, NK do K[i] = KEYS[1 + i] end
local A = {}
for i = 1, NA do A[i] = ARGV[3 + i] end

-- True when this message was applied before; otherwise marks it applied.
-- Call it only once the script is sure to apply (after its checks): Redis
-- does not roll back a script's writes if it fails later.
local function seen()
  if KEYS[1] == '' then return false end
  return not redis.call('SET', KEYS[1], '1', 'NX', 'EX', TTL)
end

-- Commits the outgoing messages to the outbox, in the same atomic step as
-- the state change that produced them.
local function emit()
  for i = 1, NO do
    redis.call('HSET', KEYS[1 + NK + i], ARGV[3 + NA + 2 * i - 1], ARGV[3 + NA + 2 * i])
  end
end

local function ok() emit() return {'ok', 1} end
local function ok_quiet() return {'ok', 0} end
local function dup() return {'dup', 0} end
local function stale(why) return {'stale', 0, why or ''} end
local function reject(why) return {'reject', 0, why} end
