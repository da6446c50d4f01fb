package redis_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/auth"
	"github.com/penny-dev/penny/app/budgets"
	"github.com/penny-dev/penny/app/budgets/tallytest"
	"github.com/penny-dev/penny/app/gateway"
	"github.com/penny-dev/penny/storage/cache"
	"github.com/penny-dev/penny/storage/cache/cachetest"
	"github.com/penny-dev/penny/storage/cache/redis"
	"github.com/penny-dev/penny/storage/cache/redis/redistest"
)

var _ budgets.Tally = (*redis.Tally)(nil)

func client(t *testing.T) *redis.Client {
	c, err := redis.Open(context.Background(), redistest.Start(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestCache(t *testing.T) {
	c := client(t)
	n := 0
	cachetest.Run(t, func(t *testing.T, ttl time.Duration) cache.Cache {
		n++
		return c.WithPrefix(fmt.Sprintf("test%d:", n)).Cache(map[cache.Class]time.Duration{cache.Queries: ttl})
	})
}

func TestTally(t *testing.T) {
	c := client(t)
	n := 0
	tallytest.Run(t, func(t *testing.T) budgets.Tally {
		n++
		return c.WithPrefix(fmt.Sprintf("tally%d:", n)).Tally()
	})
}

// Two replicas (two clients) share one tally: the budget one spends stops
// the other.
func TestTallySharedByReplicas(t *testing.T) {
	url := redistest.Start(t)
	a, err := redis.Open(context.Background(), url)
	require.NoError(t, err)
	defer a.Close()
	b, err := redis.Open(context.Background(), url)
	require.NoError(t, err)
	defer b.Close()
	ctx := context.Background()
	require.NoError(t, a.Tally().Seed(ctx, "2026-11", "global", 0))
	known, err := b.Tally().Known(ctx, "2026-11", "global")
	require.NoError(t, err)
	require.True(t, known, "seeded by one, known to the other")
	blocked, err := a.Tally().Reserve(ctx, "2026-11", map[string]int64{"global": 100}, 100)
	require.NoError(t, err)
	require.Empty(t, blocked)
	_, err = a.Tally().Settle(ctx, "2026-11", []string{"global"}, 100, 120)
	require.NoError(t, err)
	blocked, err = b.Tally().Reserve(ctx, "2026-11", map[string]int64{"global": 100}, 1)
	require.NoError(t, err)
	require.Equal(t, "global", blocked, "the other replica sees the spend")
}

func TestBusReachesEveryReplica(t *testing.T) {
	url := redistest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got [2]atomic.Value
	for i := range 2 {
		c, err := redis.Open(ctx, url)
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.Bus().Subscribe(ctx, func(key string) { got[i].Store(key) }))
	}
	pub, err := redis.Open(ctx, url)
	require.NoError(t, err)
	defer pub.Close()
	require.NoError(t, pub.Bus().Publish(ctx, "routing"))
	for i := range 2 {
		require.Eventually(t, func() bool { v, _ := got[i].Load().(string); return v == "routing" }, 2*time.Second, 10*time.Millisecond)
	}
}

var (
	_ gateway.RateLimiter = (*redis.Limiter)(nil)
	_ auth.Failures       = (*redis.Failures)(nil)
)

// Replicas share one allowance: 5 requests a minute across two clients.
func TestLimiterSharedByReplicas(t *testing.T) {
	url := redistest.Start(t)
	ctx := context.Background()
	var limiters []*redis.Limiter
	for range 2 {
		c, err := redis.Open(ctx, url)
		require.NoError(t, err)
		defer c.Close()
		limiters = append(limiters, c.Limiter())
	}
	allowed := 0
	var wait time.Duration
	for i := range 10 {
		d, err := limiters[i%2].Take(ctx, "key1", 5)
		require.NoError(t, err)
		if d == 0 {
			allowed++
		} else {
			wait = d
		}
	}
	require.Equal(t, 5, allowed, "a burst of rpm, then nothing: together, not each")
	require.Greater(t, wait, time.Duration(0))
	require.LessOrEqual(t, wait, 12*time.Second, "the next request is one interval (60 s / 5) away at most")
	d, err := limiters[0].Take(ctx, "key2", 5)
	require.NoError(t, err)
	require.Zero(t, d, "keys are apart")
}

func TestFailuresSharedByReplicas(t *testing.T) {
	url := redistest.Start(t)
	ctx := context.Background()
	a, err := redis.Open(ctx, url)
	require.NoError(t, err)
	defer a.Close()
	b, err := redis.Open(ctx, url)
	require.NoError(t, err)
	defer b.Close()
	n, _, err := a.Failures().Get(ctx, "acct:ada")
	require.NoError(t, err)
	require.Zero(t, n)
	now := time.UnixMilli(time.Now().UnixMilli())
	require.NoError(t, a.Failures().Add(ctx, "acct:ada", now, time.Minute))
	require.NoError(t, b.Failures().Add(ctx, "acct:ada", now, time.Minute))
	n, last, err := b.Failures().Get(ctx, "acct:ada")
	require.NoError(t, err)
	require.Equal(t, 2, n, "both replicas' failures count")
	require.True(t, last.Equal(now))
	require.NoError(t, a.Failures().Reset(ctx, "acct:ada"))
	n, _, _ = b.Failures().Get(ctx, "acct:ada")
	require.Zero(t, n)
}
