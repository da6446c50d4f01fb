package auth

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
)

// limiter slows down password guessing: after Free failures for a key (an
// account or an IP), each further try must wait Base × 2^(extra failures),
// up to Max. A success resets the key. Entries expire after Max of quiet.
// The counts live in a Failures: in memory for one process, in Redis when
// replicas share them.
type limiter struct {
	free   int
	base   time.Duration
	cap    time.Duration
	counts Failures
}

// Failures counts failed sign-ins per key.
type Failures interface {
	// Get returns the key's failures and the time of the last one.
	Get(ctx context.Context, key string) (n int, last time.Time, err error)
	// Add counts a failure at now; the key is forgotten after ttl of quiet.
	Add(ctx context.Context, key string, now time.Time, ttl time.Duration) error
	// Reset forgets the key.
	Reset(ctx context.Context, key string) error
}

func newLimiter(free int, base, maxWait time.Duration, counts Failures) *limiter {
	return &limiter{free: free, base: base, cap: maxWait, counts: counts}
}

// wait returns how long key must still wait before its next try. A count
// that cannot be read does not lock anyone out.
func (l *limiter) wait(ctx context.Context, key string, now time.Time) time.Duration {
	n, last, err := l.counts.Get(ctx, key)
	if err != nil || n < l.free {
		return 0
	}
	d := l.base << min(n-l.free, 20)
	if d > l.cap || d <= 0 {
		d = l.cap
	}
	if left := last.Add(d).Sub(now); left > 0 {
		return left
	}
	return 0
}

func (l *limiter) fail(ctx context.Context, key string, now time.Time) {
	_ = l.counts.Add(ctx, key, now, 2*l.cap)
}

func (l *limiter) reset(ctx context.Context, key string) { _ = l.counts.Reset(ctx, key) }

// MemFailures is the in-process Failures.
type MemFailures struct {
	mu   sync.Mutex
	seen *expirable.LRU[string, failure]
}

type failure struct {
	n    int
	last time.Time
}

// NewMemFailures keeps up to 100,000 keys for ttl each.
func NewMemFailures(ttl time.Duration) *MemFailures {
	return &MemFailures{seen: expirable.NewLRU[string, failure](100_000, nil, ttl)}
}

// Get returns the key's count.
func (m *MemFailures) Get(_ context.Context, key string) (int, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, _ := m.seen.Get(key)
	return f.n, f.last, nil
}

// Add counts one failure.
func (m *MemFailures) Add(_ context.Context, key string, now time.Time, _ time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, _ := m.seen.Get(key)
	m.seen.Add(key, failure{n: f.n + 1, last: now})
	return nil
}

// Reset forgets the key.
func (m *MemFailures) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seen.Remove(key)
	return nil
}
