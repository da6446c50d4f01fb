package lru_test

import (
	"testing"
	"time"

	"github.com/penny-dev/penny/storage/cache"
	"github.com/penny-dev/penny/storage/cache/cachetest"
	"github.com/penny-dev/penny/storage/cache/lru"
)

func TestConformance(t *testing.T) {
	cachetest.Run(t, func(t *testing.T, ttl time.Duration) cache.Cache {
		return lru.New(1000, map[cache.Class]time.Duration{cache.Queries: ttl})
	})
}
