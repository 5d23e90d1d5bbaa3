#!lua
-- Prelude of every service script (the asp_txn convention; see asp_txn.h).
-- The shebang makes Redis 7 check, in cluster mode, that the script only
-- touches keys of one slot (every key is declared in KEYS and carries the
-- same {s<n>} shard tag).
--   KEYS = { inbox key (only when ARGV[4] == '1'), own keys..., outbox keys... }
--   ARGV = { n_own_keys, n_out, inbox_ttl_s, has_inbox, own args..., id1, msg1, ..., idN, msgN }
-- Scripts see their own keys as K[1..] and their own args as A[1..]; a
-- script with more than a handful of values takes one msgpack map instead
-- (arg(i) unpacks A[i]).
-- Replies: { code, emitted, why, extra... } with code ok | dup | stale |
-- reject, emitted 1 when the outgoing messages were committed, why a
-- snake_case reason code ('' when none).
local NK = tonumber(ARGV[1]) or 0
local NO = tonumber(ARGV[2]) or 0
local TTL = tonumber(ARGV[3]) or 0
local HI = ARGV[4] == '1'
local KO = HI and 1 or 0
local NA = #ARGV - 4 - 2 * NO
local K = {}
for i = 1, NK do K[i] = KEYS[KO + i] end
local A = {}
for i = 1, NA do A[i] = ARGV[4 + i] end

local function arg(i) return cmsgpack.unpack(A[i]) end

-- True when this message was applied before; otherwise marks it applied.
-- Call it only once the script is sure to apply (after its checks): Redis
-- does not roll back a script's writes if it fails later.
local function seen()
  if not HI then return false end
  return not redis.call('SET', KEYS[1], '1', 'NX', 'EX', TTL)
end

-- Commits the outgoing messages to the outbox, in the same atomic step as
-- the state change that produced them.
local function emit()
  for i = 1, NO do
    redis.call('HSET', KEYS[KO + NK + i], ARGV[4 + NA + 2 * i - 1], ARGV[4 + NA + 2 * i])
  end
end

local function ok(...) emit() return {'ok', 1, '', ...} end
local function ok_quiet(...) return {'ok', 0, '', ...} end
local function dup(...) return {'dup', 0, '', ...} end
local function stale(why, ...) return {'stale', 0, why, ...} end
local function reject(why, ...) return {'reject', 0, why, ...} end
