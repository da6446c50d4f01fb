// Package lru is the in-memory cache: one expirable LRU per class
// (hashicorp/golang-lru/v2), each with its TTL and a bounded size.
package lru

import (
	"context"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"github.com/penny-dev/penny/storage/cache"
)

// Cache is the in-memory cache.Cache.
type Cache struct {
	classes map[cache.Class]*expirable.LRU[string, []byte]
}

// New returns caches of size entries each, with ttls per class (missing
// classes use cache.DefaultTTLs).
func New(size int, ttls map[cache.Class]time.Duration) *Cache {
	c := &Cache{classes: map[cache.Class]*expirable.LRU[string, []byte]{}}
	for class, ttl := range cache.DefaultTTLs {
		if t, ok := ttls[class]; ok {
			ttl = t
		}
		c.classes[class] = expirable.NewLRU[string, []byte](size, nil, ttl)
	}
	return c
}

// Get returns a live value.
func (c *Cache) Get(_ context.Context, class cache.Class, key string) ([]byte, bool) {
	l, ok := c.classes[class]
	if !ok {
		return nil, false
	}
	return l.Get(key)
}

// Set stores a value until its class's TTL.
func (c *Cache) Set(_ context.Context, class cache.Class, key string, value []byte) {
	if l, ok := c.classes[class]; ok {
		l.Add(key, value)
	}
}

var _ cache.Cache = (*Cache)(nil)
