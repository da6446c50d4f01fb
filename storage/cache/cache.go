// Package cache declares penny's caches: values by class and key, each
// class with its own time to live. The embedded mode keeps them in memory
// (storage/cache/lru); scale-out mode will keep them in Redis. Both pass
// storage/cache/cachetest.
package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Class is a kind of cached value; each has its own TTL.
type Class string

// The cache classes.
const (
	// Embeddings: a vector by embedding model + content hash. Default 7 days.
	Embeddings Class = "embedding"
	// Generations: a model answer by routing + normalised prompt. Default 1 hour.
	Generations Class = "generation"
	// Answers: a RAG answer by question + the retrieved chunks. Default 1 hour.
	Answers Class = "rag"
	// Queries: retrieval results by question + readable documents. Default 5 minutes.
	Queries Class = "query"
)

// DefaultTTLs are the TTLs unless configured.
var DefaultTTLs = map[Class]time.Duration{
	Embeddings: 7 * 24 * time.Hour, Generations: time.Hour, Answers: time.Hour, Queries: 5 * time.Minute,
}

// Cache is a set of TTL caches. Implementations are safe for concurrent
// use; a failing cache behaves as a miss (it is never the truth).
type Cache interface {
	Get(ctx context.Context, class Class, key string) ([]byte, bool)
	Set(ctx context.Context, class Class, key string, value []byte)
}

// Key hashes the parts of a cache key into a fixed-length key.
func Key(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}
