package budgets

import (
	"context"
	"sort"
	"sync"
)

// Tally keeps each budget scope's spend and open reservations per month:
// in memory for one process (the default), in Redis when several replicas
// share the budgets (storage/cache/redis). Reserve is atomic across the
// scopes of one call, so concurrent calls on any replica overshoot a budget
// by at most one reservation.
type Tally interface {
	// Known reports whether the scope's spend for month is set (by Seed).
	Known(ctx context.Context, month, scope string) (bool, error)
	// Seed sets the scope's spend for month (from the ledger) unless it is
	// already set.
	Seed(ctx context.Context, month, scope string, spent int64) error
	// Reserve adds est to every scope's reservations if each has spent +
	// reserved below its limit; otherwise it reserves nothing and returns
	// the first scope (in name order) that is spent.
	Reserve(ctx context.Context, month string, limits map[string]int64, est int64) (blocked string, err error)
	// Settle turns a reservation of est into the spend actual and returns
	// each scope's spend before and after.
	Settle(ctx context.Context, month string, scopes []string, est, actual int64) (map[string][2]int64, error)
	// Spent is the scope's spend for month.
	Spent(ctx context.Context, month, scope string) (int64, error)
	// FirstAlert reports whether this is the first time the scope's
	// threshold alert fires this month (across replicas: exactly once).
	FirstAlert(ctx context.Context, month, scope string, threshold int) (bool, error)
}

// MemTally is the in-process Tally.
type MemTally struct {
	mu     sync.Mutex
	scopes map[[2]string]*counts // (month, scope)
	fired  map[string]bool
}

type counts struct{ spent, reserved int64 }

// NewMemTally returns an empty in-memory tally.
func NewMemTally() *MemTally {
	return &MemTally{scopes: map[[2]string]*counts{}, fired: map[string]bool{}}
}

// Known reports whether the scope is seeded.
func (m *MemTally) Known(_ context.Context, month, scope string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.scopes[[2]string{month, scope}]
	return ok, nil
}

// Seed sets the spend unless known.
func (m *MemTally) Seed(_ context.Context, month, scope string, spent int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.scopes[[2]string{month, scope}]; !ok {
		m.scopes[[2]string{month, scope}] = &counts{spent: spent}
	}
	return nil
}

func (m *MemTally) get(month, scope string) *counts {
	c := m.scopes[[2]string{month, scope}]
	if c == nil {
		c = &counts{}
		m.scopes[[2]string{month, scope}] = c
	}
	return c
}

// Reserve reserves est on every scope, or on none.
func (m *MemTally) Reserve(_ context.Context, month string, limits map[string]int64, est int64) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := make([]string, 0, len(limits))
	for name := range limits {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if c := m.get(month, name); c.spent+c.reserved >= limits[name] {
			return name, nil
		}
	}
	for _, name := range names {
		m.get(month, name).reserved += est
	}
	return "", nil
}

// Settle moves est from reserved to actual spend.
func (m *MemTally) Settle(_ context.Context, month string, scopes []string, est, actual int64) (map[string][2]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string][2]int64, len(scopes))
	for _, name := range scopes {
		c := m.get(month, name)
		before := c.spent
		c.reserved -= est
		c.spent += actual
		out[name] = [2]int64{before, c.spent}
	}
	return out, nil
}

// Spent is the scope's spend.
func (m *MemTally) Spent(_ context.Context, month, scope string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.get(month, scope).spent, nil
}

// FirstAlert is true once per month, scope and threshold.
func (m *MemTally) FirstAlert(_ context.Context, month, scope string, threshold int) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := month + "\x00" + scope + "\x00" + string(rune(threshold))
	if m.fired[key] {
		return false, nil
	}
	m.fired[key] = true
	return true, nil
}
