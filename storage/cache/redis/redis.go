// Package redis is the state penny's replicas share in Redis (scale-out
// mode, PENNY_REDIS_URL): the caches with their TTLs (Cache), budget spend
// and reservations with atomic multi-scope reserve (Tally, which fulfils
// budgets.Tally), and settings-change notices (Bus) so that an admin's
// change on one replica applies on all of them within a second.
package redis

import (
	"context"
	_ "embed"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/penny-dev/penny/storage/cache"
)

// quiet drops go-redis's own log lines (dial retries on stderr): penny
// reports Redis errors itself, in its structured log.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func init() { goredis.SetLogger(quiet{}) }

// Client is one connection pool to Redis, under a key prefix.
type Client struct {
	rdb    *goredis.Client
	prefix string
}

// Open connects to url (redis://[:password@]host:port/db) and checks that
// the server answers.
func Open(ctx context.Context, url string) (*Client, error) {
	opts, err := goredis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	rdb := goredis.NewClient(opts)
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("redis: cannot reach %s: %w", opts.Addr, err)
	}
	return &Client{rdb: rdb, prefix: "penny:"}, nil
}

// WithPrefix returns the client with keys under another prefix (tests).
func (c *Client) WithPrefix(prefix string) *Client { return &Client{rdb: c.rdb, prefix: prefix} }

// Close releases the connections.
func (c *Client) Close() error { return c.rdb.Close() }

func (c *Client) key(parts ...string) string {
	k := c.prefix
	for i, p := range parts {
		if i > 0 {
			k += ":"
		}
		k += p
	}
	return k
}

// Cache is cache.Cache in Redis: a key per class and key, expiring with the
// class's TTL. A Redis error is a miss; the cache is never the truth.
type Cache struct {
	c    *Client
	ttls map[cache.Class]time.Duration
}

var _ cache.Cache = (*Cache)(nil)

// Cache returns the caches with ttls (classes left out: cache.DefaultTTLs).
func (c *Client) Cache(ttls map[cache.Class]time.Duration) *Cache {
	merged := map[cache.Class]time.Duration{}
	for k, v := range cache.DefaultTTLs {
		merged[k] = v
	}
	for k, v := range ttls {
		merged[k] = v
	}
	return &Cache{c: c, ttls: merged}
}

// Get returns the cached value.
func (x *Cache) Get(ctx context.Context, class cache.Class, key string) ([]byte, bool) {
	v, err := x.c.rdb.Get(ctx, x.c.key("cache", string(class), key)).Bytes()
	if err != nil {
		return nil, false
	}
	return v, true
}

// Set stores value for the class's TTL.
func (x *Cache) Set(ctx context.Context, class cache.Class, key string, value []byte) {
	ttl := x.ttls[class]
	if ttl <= 0 {
		return
	}
	_ = x.c.rdb.Set(ctx, x.c.key("cache", string(class), key), value, ttl).Err()
}

// Tally keeps budget spend in Redis: per month and scope a spent and a
// reserved counter, kept 62 days.
type Tally struct{ c *Client }

// Tally returns the shared budget tally.
func (c *Client) Tally() *Tally { return &Tally{c: c} }

const tallyTTL = 62 * 24 * time.Hour

func (t *Tally) spentKey(month, scope string) string { return t.c.key("budget", month, scope, "spent") }
func (t *Tally) reservedKey(month, scope string) string {
	return t.c.key("budget", month, scope, "reserved")
}

// Known reports whether the scope's spend for month is set.
func (t *Tally) Known(ctx context.Context, month, scope string) (bool, error) {
	n, err := t.c.rdb.Exists(ctx, t.spentKey(month, scope)).Result()
	return n == 1, err
}

// Seed sets the spend unless it is set (the first replica's ledger sum wins;
// later spend is added by Settle).
func (t *Tally) Seed(ctx context.Context, month, scope string, spent int64) error {
	return t.c.rdb.SetNX(ctx, t.spentKey(month, scope), spent, tallyTTL).Err()
}

//go:embed reserve.lua
var reserveSrc string

var reserveScript = goredis.NewScript(reserveSrc)

// Reserve reserves est on every scope below its limit, or on none, in one
// Lua script (atomic in Redis).
func (t *Tally) Reserve(ctx context.Context, month string, limits map[string]int64, est int64) (string, error) {
	names := sortedNames(limits)
	keys := make([]string, 0, 2*len(names))
	args := make([]any, 0, len(names)+2)
	for _, n := range names {
		keys = append(keys, t.spentKey(month, n), t.reservedKey(month, n))
		args = append(args, limits[n])
	}
	args = append(args, est, int64(tallyTTL/time.Second))
	i, err := reserveScript.Run(ctx, t.c.rdb, keys, args...).Int()
	if err != nil {
		return "", fmt.Errorf("redis: reserve budget: %w", err)
	}
	if i == 0 {
		return "", nil
	}
	return names[i-1], nil
}

//go:embed settle.lua
var settleSrc string

var settleScript = goredis.NewScript(settleSrc)

// Settle moves est from reserved to the actual spend on every scope.
func (t *Tally) Settle(ctx context.Context, month string, scopes []string, est, actual int64) (map[string][2]int64, error) {
	keys := make([]string, 0, 2*len(scopes))
	for _, n := range scopes {
		keys = append(keys, t.spentKey(month, n), t.reservedKey(month, n))
	}
	res, err := settleScript.Run(ctx, t.c.rdb, keys, est, actual, int64(tallyTTL/time.Second)).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("redis: settle budget: %w", err)
	}
	out := make(map[string][2]int64, len(scopes))
	for i, n := range scopes {
		out[n] = [2]int64{res[2*i], res[2*i+1]}
	}
	return out, nil
}

// Spent is the scope's spend for month.
func (t *Tally) Spent(ctx context.Context, month, scope string) (int64, error) {
	v, err := t.c.rdb.Get(ctx, t.spentKey(month, scope)).Int64()
	if err == goredis.Nil {
		return 0, nil
	}
	return v, err
}

// FirstAlert is true for exactly one caller per month, scope and threshold.
func (t *Tally) FirstAlert(ctx context.Context, month, scope string, threshold int) (bool, error) {
	return t.c.rdb.SetNX(ctx, t.c.key("budget", month, scope, "alert", strconv.Itoa(threshold)), 1, tallyTTL).Result()
}

func sortedNames(m map[string]int64) []string { return slices.Sorted(maps.Keys(m)) }

// Bus carries settings-change notices between replicas (Redis pub/sub).
type Bus struct{ c *Client }

// Bus returns the notice bus.
func (c *Client) Bus() *Bus { return &Bus{c: c} }

func (b *Bus) channel() string { return b.c.key("settings") }

// Publish tells every replica that the setting key changed.
func (b *Bus) Publish(ctx context.Context, key string) error {
	return b.c.rdb.Publish(ctx, b.channel(), key).Err()
}

// Subscribe calls fn with each changed key until ctx ends. It returns once
// the subscription is active, so that no notice published afterwards is
// missed.
func (b *Bus) Subscribe(ctx context.Context, fn func(key string)) error {
	sub := b.c.rdb.Subscribe(ctx, b.channel())
	if _, err := sub.Receive(ctx); err != nil {
		_ = sub.Close()
		return fmt.Errorf("redis: subscribe: %w", err)
	}
	go func() {
		defer sub.Close()
		ch := sub.Channel()
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-ch:
				if !ok {
					return
				}
				fn(m.Payload)
			}
		}
	}()
	return nil
}

// Limiter is gateway.RateLimiter in Redis: a GCRA per key, so N replicas
// together allow what one would.
type Limiter struct{ c *Client }

// Limiter returns the shared request limiter.
func (c *Client) Limiter() *Limiter { return &Limiter{c: c} }

//go:embed gcra.lua
var gcraSrc string

var gcraScript = goredis.NewScript(gcraSrc)

// Take takes one request from key's allowance of rpm a minute.
func (l *Limiter) Take(ctx context.Context, key string, rpm int) (time.Duration, error) {
	if rpm <= 0 {
		return 0, nil
	}
	interval := int64(time.Minute/time.Millisecond) / int64(rpm)
	ms, err := gcraScript.Run(ctx, l.c.rdb, []string{l.c.key("rate", key)}, interval, interval*int64(rpm)).Int64()
	if err != nil {
		return 0, fmt.Errorf("redis: rate limit: %w", err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// Failures is auth.Failures in Redis: failed sign-ins per key, shared by
// replicas, so spreading guesses over them gains nothing.
type Failures struct{ c *Client }

// Failures returns the shared sign-in failure counts.
func (c *Client) Failures() *Failures { return &Failures{c: c} }

// Get returns the key's failures and the last one's time.
func (f *Failures) Get(ctx context.Context, key string) (int, time.Time, error) {
	vals, err := f.c.rdb.HMGet(ctx, f.c.key("login", key), "n", "last").Result()
	if err != nil {
		return 0, time.Time{}, err
	}
	if vals[0] == nil {
		return 0, time.Time{}, nil
	}
	n, _ := strconv.Atoi(fmt.Sprint(vals[0]))
	ms, _ := strconv.ParseInt(fmt.Sprint(vals[1]), 10, 64)
	return n, time.UnixMilli(ms), nil
}

// Add counts one failure at now; the key expires after ttl of quiet.
func (f *Failures) Add(ctx context.Context, key string, now time.Time, ttl time.Duration) error {
	k := f.c.key("login", key)
	_, err := f.c.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.HIncrBy(ctx, k, "n", 1)
		p.HSet(ctx, k, "last", now.UnixMilli())
		p.PExpire(ctx, k, ttl)
		return nil
	})
	return err
}

// Reset forgets the key.
func (f *Failures) Reset(ctx context.Context, key string) error {
	return f.c.rdb.Del(ctx, f.c.key("login", key)).Err()
}
