// Package cachetest is the conformance suite every cache backend runs.
package cachetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/storage/cache"
)

// Run runs the suite; open returns a new empty cache whose Queries class
// lives for ttl.
func Run(t *testing.T, open func(t *testing.T, ttl time.Duration) cache.Cache) {
	t.Run("GetSetClasses", func(t *testing.T) {
		c := open(t, time.Minute)
		ctx := context.Background()
		_, ok := c.Get(ctx, cache.Embeddings, "k")
		require.False(t, ok)
		c.Set(ctx, cache.Embeddings, "k", []byte("v1"))
		v, ok := c.Get(ctx, cache.Embeddings, "k")
		require.True(t, ok)
		require.Equal(t, "v1", string(v))
		_, ok = c.Get(ctx, cache.Answers, "k")
		require.False(t, ok, "classes do not share keys")
		c.Set(ctx, cache.Embeddings, "k", []byte("v2"))
		v, _ = c.Get(ctx, cache.Embeddings, "k")
		require.Equal(t, "v2", string(v))
	})
	t.Run("TTL", func(t *testing.T) {
		c := open(t, 50*time.Millisecond)
		ctx := context.Background()
		c.Set(ctx, cache.Queries, "k", []byte("v"))
		require.Eventually(t, func() bool { _, ok := c.Get(ctx, cache.Queries, "k"); return !ok }, 2*time.Second, 10*time.Millisecond)
	})
	t.Run("Concurrent", func(t *testing.T) {
		c := open(t, time.Minute)
		ctx := context.Background()
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 200 {
					k := fmt.Sprint(w, "-", i%20)
					c.Set(ctx, cache.Generations, k, []byte(k))
					if v, ok := c.Get(ctx, cache.Generations, k); ok {
						require.Equal(t, k, string(v))
					}
				}
			}()
		}
		wg.Wait()
	})
	t.Run("Key", func(t *testing.T) {
		require.Equal(t, cache.Key("a", "b"), cache.Key("a", "b"))
		require.NotEqual(t, cache.Key("ab", ""), cache.Key("a", "b"), "parts are separated")
		require.Len(t, cache.Key("x"), 64)
	})
}
