-- GCRA rate limit: KEYS[1] holds the theoretical arrival time (ms).
-- ARGV: interval ms (one request's share), burst ms (interval × rpm).
-- Returns 0 when the request is allowed, else the ms to wait. The clock is
-- Redis's own, so replicas with skewed clocks agree.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new = tat + interval
local allowAt = new - burst
if allowAt > now then
  return allowAt - now
end
redis.call('SET', KEYS[1], new, 'PX', math.max(1, new - now))
return 0
