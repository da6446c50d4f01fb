package router

import (
	"sort"
	"sync"
	"time"
)

// Breaker states.
const (
	StateClosed   = "closed"
	StateOpen     = "open"
	StateHalfOpen = "half-open"
)

// BreakerOptions tune the circuit breakers.
type BreakerOptions struct {
	// Failures in a row that open the breaker. Default 3.
	Failures int
	// Cooldown is how long an open breaker refuses calls before it lets
	// one probe through. It doubles after a failed probe, up to
	// MaxCooldown. Defaults 30s and 5m.
	Cooldown    time.Duration
	MaxCooldown time.Duration
}

// breaker guards one provider+model: closed (calls pass), open (calls are
// skipped until the cooldown ends), half-open (exactly one call — the
// probe — passes; its outcome closes or reopens the breaker). During an
// outage this costs at most one doomed call per cooldown window.
//
// Every change of state starts a new generation, and a call's outcome
// counts only in the generation that let it through: an answer that
// arrives after the breaker opened (the call started before the outage)
// does not close it again, and a late failure does not stretch a window.
type breaker struct {
	opts     BreakerOptions
	mu       sync.Mutex
	state    string
	gen      uint64
	failures int
	until    time.Time
	cooldown time.Duration
	probing  bool
}

// pass is what allow hands a call it lets through; the call reports its
// outcome with it.
type pass struct{ gen uint64 }

func newBreaker(o BreakerOptions) *breaker {
	return &breaker{opts: o, state: StateClosed, cooldown: o.Cooldown}
}

// to moves to state, starting a generation. Callers hold mu.
func (b *breaker) to(state string) {
	b.state, b.probing = state, false
	b.gen++
}

// allow reports whether a call may go; when it is the half-open probe,
// the caller must report its outcome (success, failure or release).
func (b *breaker) allow(now time.Time) (pass, bool, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case StateClosed:
	case StateOpen:
		if now.Before(b.until) {
			return pass{}, false, b.until
		}
		b.to(StateHalfOpen)
		b.probing = true
	default: // half-open: one probe at a time
		if b.probing {
			return pass{}, false, b.until
		}
		b.probing = true
	}
	return pass{b.gen}, true, time.Time{}
}

func (b *breaker) success(p pass) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p.gen != b.gen {
		return
	}
	b.failures, b.cooldown = 0, b.opts.Cooldown
	if b.state != StateClosed {
		b.to(StateClosed)
	}
}

// failure records a failed call; retryAfter (if longer) stretches the
// open window, and down (nothing listens: the connection was refused)
// opens it at once, since the next call cannot fare better. It returns
// the end of the window when this failure opened the breaker (zero
// otherwise).
func (b *breaker) failure(now time.Time, retryAfter time.Duration, down bool, p pass) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p.gen != b.gen {
		return time.Time{}
	}
	b.failures++
	switch {
	case b.state == StateHalfOpen:
		b.cooldown = min(b.cooldown*2, b.opts.MaxCooldown)
	case b.failures < b.opts.Failures && retryAfter == 0 && !down:
		return time.Time{}
	}
	b.to(StateOpen)
	b.until = now.Add(max(b.cooldown, retryAfter))
	return b.until
}

// holdOpen opens the breaker until then (another replica saw the provider
// fail); a later window it already has stays.
func (b *breaker) holdOpen(until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == StateOpen && !until.After(b.until) {
		return
	}
	b.to(StateOpen)
	b.until = until
}

// release gives up a half-open probe that was not made (the request went
// elsewhere or was cancelled before the call).
func (b *breaker) release(p pass) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p.gen == b.gen && b.state == StateHalfOpen {
		b.probing = false
	}
}

func (b *breaker) snapshot() (string, time.Time, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state, b.until, b.failures
}

// stats keeps the last calls of one provider+model for passive health.
type stats struct {
	mu        sync.Mutex
	lat       []time.Duration // ring of the last window latencies
	ok        []bool
	next      int
	calls     int64
	errs      int64
	lastErr   string
	lastErrAt time.Time
	lastOKAt  time.Time
}

const statsWindow = 100

func (s *stats) record(now time.Time, d time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.lat) < statsWindow {
		s.lat, s.ok = append(s.lat, d), append(s.ok, err == nil)
	} else {
		s.lat[s.next], s.ok[s.next] = d, err == nil
		s.next = (s.next + 1) % statsWindow
	}
	s.calls++
	if err != nil {
		s.errs++
		s.lastErr, s.lastErrAt = err.Error(), now
	} else {
		s.lastOKAt = now
	}
}

// summary returns error rate over the window and latency percentiles of
// successful calls.
func (s *stats) summary() (errRate float64, p50, p95 time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var okLat []time.Duration
	fails := 0
	for i, d := range s.lat {
		if s.ok[i] {
			okLat = append(okLat, d)
		} else {
			fails++
		}
	}
	if len(s.lat) > 0 {
		errRate = float64(fails) / float64(len(s.lat))
	}
	if len(okLat) > 0 {
		sort.Slice(okLat, func(i, j int) bool { return okLat[i] < okLat[j] })
		p50 = okLat[(len(okLat)-1)*50/100]
		p95 = okLat[(len(okLat)-1)*95/100]
	}
	return errRate, p50, p95
}
