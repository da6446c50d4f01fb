package auth

import (
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
)

// limiter slows down password guessing: after Free failures for a key (an
// account or an IP), each further try must wait Base × 2^(extra failures),
// up to Max. A success resets the key. Entries expire after Max of quiet.
type limiter struct {
	free int
	base time.Duration
	cap  time.Duration
	mu   sync.Mutex
	seen *expirable.LRU[string, failures]
}

type failures struct {
	n    int
	last time.Time
}

func newLimiter(free int, base, maxWait time.Duration) *limiter {
	return &limiter{free: free, base: base, cap: maxWait, seen: expirable.NewLRU[string, failures](100_000, nil, maxWait*2)}
}

// wait returns how long key must still wait before its next try.
func (l *limiter) wait(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.seen.Get(key)
	if !ok || f.n < l.free {
		return 0
	}
	d := l.base << min(f.n-l.free, 20)
	if d > l.cap || d <= 0 {
		d = l.cap
	}
	if left := f.last.Add(d).Sub(now); left > 0 {
		return left
	}
	return 0
}

func (l *limiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, _ := l.seen.Get(key)
	l.seen.Add(key, failures{n: f.n + 1, last: now})
}

func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen.Remove(key)
}
