/**
 * The Lua scripts that make admission and settlement atomic across gateway instances: Redis
 * runs a script to completion before any other command, so check-then-reserve cannot interleave.
 *
 * Data, under the key prefix:
 * - `acct:<kind>:<id>` hash: `spent` (nano-dollars, the shared total), `resetAt` (ms, 0 = none),
 *   and `r:<instance>` per instance: the worst-case reservations of its requests in flight.
 * - `win:<descriptor>:<id>` hash: `start` (ms, the window's first request), `req`, `tok`, and
 *   `p:<instance>`: that instance's requests in flight (max_parallel_requests).
 * - `done:<instance>:<n>`: a settlement or a spend batch already applied, for two minutes, so a
 *   retry after a lost reply is not counted twice.
 * - `live:<instance>`: present while the instance runs (refreshed every few seconds). In-flight
 *   fields of an instance that is gone (crashed) are not counted and are deleted on sight, so a
 *   crash cannot hold a budget or a parallel slot for longer than the liveness timeout.
 *
 * Numbers written back go through string.format('%d'), since Lua would print large ones in
 * exponent notation that HINCRBY refuses. Nano-dollars stay far below 2^53.
 */

const helpers = `
local inst = ARGV[1]
local livePrefix = ARGV[2]
local alive = {}
local function int(x) return string.format('%d', x) end
-- Sums the in-flight fields (prefix r: or p:) of live instances; returns the sum and the other fields.
local function held(key, prefix)
  local all = redis.call('HGETALL', key)
  local fields = {}
  local sum = 0
  for i = 1, #all, 2 do
    local field = all[i]
    if string.sub(field, 1, 2) == prefix then
      local id = string.sub(field, 3)
      local live = alive[id]
      if live == nil then
        live = id == inst or redis.call('EXISTS', livePrefix .. id) == 1
        alive[id] = live
      end
      if live then sum = sum + tonumber(all[i + 1]) else redis.call('HDEL', key, field) end
    else
      fields[field] = all[i + 1]
    end
  end
  return sum, fields
end
-- A shared account is created once, from the first instance's view of Postgres (HSETNX-like:
-- only when the hash does not exist), never overwritten by a later one.
local function seed(key, spent, resetAt)
  if redis.call('EXISTS', key) == 0 then redis.call('HSET', key, 'spent', spent, 'resetAt', resetAt) end
end
`;

/**
 * KEYS: n accounts, then m windows. ARGV: instance, live prefix, live ttl ms, window ms, now ms
 * (the caller's clock, for budget periods), n, m, worst-case nanos; per account: max (-1 none),
 * seed spent, seed resetAt, next resetAt if a period ends now; per window: rpm, tpm, parallel
 * (-1 none).
 *
 * Reply: { outcome, index, resetAt, clock, accounts, windows } where outcome is "ok", "budget",
 * "requests", "tokens" or "max_parallel_requests"; accounts: per account { spent, resetAt,
 * didReset, reserved }; windows: per window { start, requests, tokens } after this request.
 */
export const admitScript = `${helpers}
redis.call('SET', livePrefix .. inst, '1', 'PX', ARGV[3])
local windowMs = tonumber(ARGV[4])
local nowMs = tonumber(ARGV[5])
local n = tonumber(ARGV[6])
local m = tonumber(ARGV[7])
local worst = tonumber(ARGV[8])
local time = redis.call('TIME')
local clock = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local accounts = {}
local spent, reserved = {}, {}
for i = 1, n do
  local a = 8 + (i - 1) * 4
  local key = KEYS[i]
  seed(key, ARGV[a + 2], ARGV[a + 3])
  local r, fields = held(key, 'r:')
  local s = tonumber(fields.spent or '0')
  local resetAt = tonumber(fields.resetAt or '0')
  local nextReset = tonumber(ARGV[a + 4])
  local didReset = 0
  -- A budget period given to an account after it was first seeded (an admin set a duration).
  if resetAt == 0 and tonumber(ARGV[a + 3]) > 0 then
    resetAt = tonumber(ARGV[a + 3])
    redis.call('HSET', key, 'resetAt', ARGV[a + 3])
  end
  -- One instance's script starts the new period; every later one sees the moved resetAt.
  if resetAt > 0 and nowMs >= resetAt and nextReset > resetAt then
    s = 0
    resetAt = nextReset
    didReset = 1
    redis.call('HSET', key, 'spent', '0', 'resetAt', int(resetAt))
  end
  spent[i], reserved[i] = s, r
  accounts[i] = { s, resetAt, didReset, 0 }
end
-- A request fits if its worst case fits in what is left, or if nothing else is in flight (the
-- budget's last request, reserving only what is left): so at most one request can cost more
-- than it reserved, and spend stays within the budget plus one request's cost (admission.ts).
for i = 1, n do
  local max = tonumber(ARGV[8 + (i - 1) * 4 + 1])
  if max >= 0 then
    local left = max - spent[i] - reserved[i]
    if left <= 0 or (worst > left and reserved[i] > 0) then return { 'budget', i, 0, clock, accounts, {} } end
  end
end

local windows = {}
for j = 1, m do
  local a = 8 + n * 4 + (j - 1) * 3
  local rpm, tpm, parallel = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local key = KEYS[n + j]
  local inFlight, fields = held(key, 'p:')
  local start = tonumber(fields.start or '0')
  local requests, tokens = tonumber(fields.req or '0'), tonumber(fields.tok or '0')
  if start == 0 or clock - start >= windowMs then start, requests, tokens = clock, 0, 0 end
  local resetAt = start + windowMs
  if parallel >= 0 and inFlight + 1 > parallel then return { 'max_parallel_requests', j, resetAt, clock, accounts, {} } end
  if rpm >= 0 and requests + 1 > rpm then return { 'requests', j, resetAt, clock, accounts, {} } end
  if tpm >= 0 and tokens >= tpm then return { 'tokens', j, resetAt, clock, accounts, {} } end
  windows[j] = { start, requests + 1, tokens }
end

for i = 1, n do
  local max = tonumber(ARGV[8 + (i - 1) * 4 + 1])
  if max >= 0 then
    -- The budget's last request reserves only what is left.
    local amount = math.min(worst, max - spent[i] - reserved[i])
    if amount > 0 then redis.call('HINCRBY', KEYS[i], 'r:' .. inst, int(amount)) end
    accounts[i][4] = amount
  end
end
for j = 1, m do
  local key = KEYS[n + j]
  local w = windows[j]
  redis.call('HSET', key, 'start', int(w[1]), 'req', int(w[2]), 'tok', int(w[3]))
  redis.call('HINCRBY', key, 'p:' .. inst, 1)
  redis.call('PEXPIRE', key, windowMs * 2 + 900000)
end
return { 'ok', 0, 0, clock, accounts, windows }
`;

/**
 * KEYS: n accounts, then m windows, then the settlement's id key. ARGV: instance, live prefix,
 * live ttl ms, window ms, n, m, tokens; per account: reservation to give back, cost to add,
 * seed spent, seed resetAt. Reply: per account { spent, resetAt }, or 0 when this settlement was
 * applied before (a retry after a lost reply), so it never counts twice.
 */
export const settleScript = `${helpers}
redis.call('SET', livePrefix .. inst, '1', 'PX', ARGV[3])
local windowMs = tonumber(ARGV[4])
local n = tonumber(ARGV[5])
local m = tonumber(ARGV[6])
if not redis.call('SET', KEYS[n + m + 1], '1', 'NX', 'PX', 120000) then return 0 end
local tokens = tonumber(ARGV[7])
local time = redis.call('TIME')
local clock = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local out = {}
for i = 1, n do
  local a = 7 + (i - 1) * 4
  local key = KEYS[i]
  seed(key, ARGV[a + 3], ARGV[a + 4])
  local giveBack = tonumber(ARGV[a + 1])
  if giveBack > 0 then
    local left = redis.call('HINCRBY', key, 'r:' .. inst, int(-giveBack))
    if left <= 0 then redis.call('HDEL', key, 'r:' .. inst) end
  end
  local s
  if tonumber(ARGV[a + 2]) > 0 then s = redis.call('HINCRBY', key, 'spent', ARGV[a + 2])
  else s = tonumber(redis.call('HGET', key, 'spent') or '0') end
  out[i] = { s, tonumber(redis.call('HGET', key, 'resetAt') or '0') }
end
for j = 1, m do
  local key = KEYS[n + j]
  local left = redis.call('HINCRBY', key, 'p:' .. inst, -1)
  if left <= 0 then redis.call('HDEL', key, 'p:' .. inst) end
  local start = tonumber(redis.call('HGET', key, 'start') or '0')
  if tokens > 0 and start > 0 and clock - start < windowMs then redis.call('HINCRBY', key, 'tok', int(tokens)) end
end
return out
`;

/**
 * After Redis was away (or a settlement failed): adds the spend this instance recorded without
 * Redis, and writes its in-flight reservations and parallel slots as absolute values, so a lost
 * reply can neither leak a reservation nor free one twice.
 *
 * KEYS: n accounts, then m windows, then the batch's id key (a batch retried after a lost reply
 * adds nothing twice). ARGV: instance, live prefix, live ttl ms, n, m; per account: spend to
 * add, reservations held, seed spent, seed resetAt; per window: slots held.
 */
export const reconcileScript = `${helpers}
redis.call('SET', livePrefix .. inst, '1', 'PX', ARGV[3])
local n = tonumber(ARGV[4])
local m = tonumber(ARGV[5])
local fresh = redis.call('SET', KEYS[n + m + 1], '1', 'NX', 'PX', 120000)
for i = 1, n do
  local a = 5 + (i - 1) * 4
  local key = KEYS[i]
  if redis.call('EXISTS', key) == 0 then
    -- The seed (this instance's view) already includes the spend it recorded without Redis.
    -- It can also include another instance's outage spend, read from Postgres after that one
    -- flushed it, which that instance then adds again: an overstatement (README, "Not yet").
    seed(key, ARGV[a + 3], ARGV[a + 4])
  elseif fresh and tonumber(ARGV[a + 1]) > 0 then
    redis.call('HINCRBY', key, 'spent', ARGV[a + 1])
  end
  if tonumber(ARGV[a + 2]) > 0 then redis.call('HSET', key, 'r:' .. inst, ARGV[a + 2])
  else redis.call('HDEL', key, 'r:' .. inst) end
end
for j = 1, m do
  local key = KEYS[n + j]
  local slots = ARGV[5 + n * 4 + j]
  if tonumber(slots) > 0 then redis.call('HSET', key, 'p:' .. inst, slots)
  else redis.call('HDEL', key, 'p:' .. inst) end
end
return n + m
`;

/** An admin's absolute spend: KEYS[1] account; ARGV: spent, resetAt (kept if the account exists). */
export const setSpendScript = `
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('HSET', KEYS[1], 'resetAt', ARGV[2]) end
redis.call('HSET', KEYS[1], 'spent', ARGV[1])
return 1
`;

/**
 * Deployments' load under least-busy and latency-based routing (`<prefix>load:<id>` hashes, one
 * field per instance: `<calls in flight>:<latency ms or empty>:<Redis time in ms>`). Writes this
 * instance's figures, deletes fields not refreshed within ARGV[2] ms (an instance that stopped),
 * and returns per key the other instances' calls in flight and their latencies, as text so Lua
 * does not round them. KEYS: the deployments' hashes. ARGV: instance, stale after ms, key ttl ms,
 * then calls in flight and latency per key.
 */
export const loadScript = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local staleAfter = tonumber(ARGV[2])
local out = {}
for i, key in ipairs(KEYS) do
  redis.call('HSET', key, ARGV[1], ARGV[2 + i * 2] .. ':' .. ARGV[3 + i * 2] .. ':' .. string.format('%d', now))
  redis.call('PEXPIRE', key, ARGV[3])
  local fields = redis.call('HGETALL', key)
  local busy = 0
  local latencies = {}
  for j = 1, #fields, 2 do
    local busyText, latencyText, at = string.match(fields[j + 1], '^(%d+):([^:]*):(%d+)$')
    if at == nil or now - tonumber(at) > staleAfter then
      redis.call('HDEL', key, fields[j])
    elseif fields[j] ~= ARGV[1] then
      busy = busy + tonumber(busyText)
      if latencyText ~= '' then latencies[#latencies + 1] = latencyText end
    end
  end
  out[i] = { busy, latencies }
end
return out
`;
