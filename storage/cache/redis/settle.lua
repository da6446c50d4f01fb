-- KEYS: spent1, reserved1, spent2, reserved2, ...
-- ARGV: est, actual, ttl seconds
-- Moves est from reserved to the actual spend on every scope; returns
-- spent before and after for each scope.
local est = tonumber(ARGV[1])
local actual = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local out = {}
for i = 1, #KEYS / 2 do
  local before = tonumber(redis.call('GET', KEYS[2 * i - 1]) or '0')
  local after = redis.call('INCRBY', KEYS[2 * i - 1], actual)
  redis.call('EXPIRE', KEYS[2 * i - 1], ttl)
  redis.call('DECRBY', KEYS[2 * i], est)
  out[2 * i - 1] = before
  out[2 * i] = after
end
return out
