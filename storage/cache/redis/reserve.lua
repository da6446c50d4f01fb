-- KEYS: spent1, reserved1, spent2, reserved2, ... (scopes in name order)
-- ARGV: limit1, limit2, ..., est, ttl seconds
-- Returns 0 when est is reserved on every scope, else the 1-based index of
-- the first scope whose spent + reserved has reached its limit.
local n = #KEYS / 2
local est = tonumber(ARGV[n + 1])
local ttl = tonumber(ARGV[n + 2])
for i = 1, n do
  local spent = tonumber(redis.call('GET', KEYS[2 * i - 1]) or '0')
  local reserved = tonumber(redis.call('GET', KEYS[2 * i]) or '0')
  if spent + reserved >= tonumber(ARGV[i]) then
    return i
  end
end
for i = 1, n do
  redis.call('INCRBY', KEYS[2 * i], est)
  redis.call('EXPIRE', KEYS[2 * i], ttl)
end
return 0
