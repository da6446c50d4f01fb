package catalog

import (
	"sync"
	"time"
)

// FreeAllocation tracks a daily free allowance (Cloudflare: neurons per
// day, reset at 00:00 UTC). Safe for concurrent use. The count lives in
// memory: after a restart penny assumes nothing was used yet today, which
// can under-count by at most one day's allowance.
type FreeAllocation struct {
	daily float64
	mu    sync.Mutex
	day   string
	used  float64
}

// NewFreeAllocation returns a tracker of daily units per UTC day.
func NewFreeAllocation(daily float64) *FreeAllocation { return &FreeAllocation{daily: daily} }

// Consume records use and returns the part of it beyond today's free
// allowance (the billable part).
func (f *FreeAllocation) Consume(now time.Time, units float64) float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roll(now)
	free := max(0, f.daily-f.used)
	f.used += units
	return max(0, units-free)
}

// Remaining is what is left of today's allowance.
func (f *FreeAllocation) Remaining(now time.Time) float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roll(now)
	return max(0, f.daily-f.used)
}

// Exhaust marks today's allowance spent (the provider said so).
func (f *FreeAllocation) Exhaust(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roll(now)
	f.used = max(f.used, f.daily)
}

func (f *FreeAllocation) roll(now time.Time) {
	if d := now.UTC().Format(time.DateOnly); d != f.day {
		f.day, f.used = d, 0
	}
}
