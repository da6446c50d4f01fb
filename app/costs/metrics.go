package costs

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/penny-dev/penny/app/apperr"
	"github.com/penny-dev/penny/storage"
)

// Group is one group of the metrics. Money is integer micro-dollars.
type Group struct {
	Key                string `json:"key"`
	Calls              int    `json:"calls"`
	Errors             int    `json:"errors"`
	TokensIn           int64  `json:"tokensIn"`
	TokensOut          int64  `json:"tokensOut"`
	CostMicros         int64  `json:"costMicros"`
	BaselineMicros     int64  `json:"baselineMicros"`
	SavingsMicros      int64  `json:"savingsMicros"`
	CacheHits          int    `json:"cacheHits"`
	CacheSavingsMicros int64  `json:"cacheSavingsMicros"`
	// WasteMicros is what failed attempts cost (failover and retries).
	WasteMicros int64 `json:"wasteMicros"`
}

func (g *Group) add(e storage.LedgerEntry) {
	g.Calls++
	g.TokensIn += int64(e.TokensIn)
	g.TokensOut += int64(e.TokensOut)
	g.CostMicros += e.CostMicros
	if e.Outcome != storage.OutcomeOK {
		g.Errors++
		g.WasteMicros += e.CostMicros
	} else {
		// A failed attempt replaced nothing: only answers count against
		// the baseline.
		g.BaselineMicros += e.BaselineMicros
	}
	if e.CacheHit {
		g.CacheHits++
		g.CacheSavingsMicros += e.AvoidedMicros
	}
	g.SavingsMicros = g.BaselineMicros - g.CostMicros
}

// Metrics is the answer of GET /api/costs/metrics.
type Metrics struct {
	From   time.Time          `json:"from"`
	To     time.Time          `json:"to"`
	Scope  string             `json:"scope"`
	Total  Group              `json:"total"`
	Groups map[string][]Group `json:"groups"`
	// Projected* extrapolate this month's spend from its run rate so far.
	ProjectedMonthMicros         int64   `json:"projectedMonthMicros"`
	ProjectedMonthBaselineMicros int64   `json:"projectedMonthBaselineMicros"`
	CacheHitRate                 float64 `json:"cacheHitRate"`
}

// GroupBys are the dimensions metrics can be grouped by.
var GroupBys = map[string]func(storage.LedgerEntry) string{
	"provider": func(e storage.LedgerEntry) string { return e.Provider },
	"model":    func(e storage.LedgerEntry) string { return e.Provider + "/" + e.Model },
	"service":  func(e storage.LedgerEntry) string { return e.Service },
	"user":     func(e storage.LedgerEntry) string { return e.UserID },
	"kind":     func(e storage.LedgerEntry) string { return e.Kind },
	"arm":      func(e storage.LedgerEntry) string { return e.Arm },
	"day":      func(e storage.LedgerEntry) string { return e.Time.UTC().Format(time.DateOnly) },
	"collection": func(e storage.LedgerEntry) string {
		if e.Collection == "" {
			return "(none)"
		}
		return e.Collection
	},
	"cache": func(e storage.LedgerEntry) string {
		if !e.CacheHit {
			return "miss"
		}
		return e.CacheClass
	},
}

// Metrics totals the ledger in [From, To) with the groups asked for,
// projects the current month and reports cache use.
func (s *Service) Metrics(ctx context.Context, q Query, groupBy []string, now time.Time) (Metrics, error) {
	if !q.To.After(q.From) {
		return Metrics{}, apperr.Invalid("to must be after from")
	}
	f, scope, err := filter(q)
	if err != nil {
		return Metrics{}, err
	}
	keyOf := map[string]func(storage.LedgerEntry) string{}
	for _, g := range groupBy {
		fn, err := groupKey(g, scope)
		if err != nil {
			return Metrics{}, err
		}
		keyOf[g] = fn
	}
	out := Metrics{From: q.From, To: q.To, Scope: scope, Total: Group{Key: "total"}, Groups: map[string][]Group{}}
	groups := map[string]map[string]*Group{}
	for _, g := range groupBy {
		groups[g] = map[string]*Group{}
	}
	err = s.ledger.EachLedger(ctx, f, func(e storage.LedgerEntry) error {
		out.Total.add(e)
		for name, m := range groups {
			k := keyOf[name](e)
			if m[k] == nil {
				m[k] = &Group{Key: k}
			}
			m[k].add(e)
		}
		return nil
	})
	if err != nil {
		return Metrics{}, err
	}
	for name, m := range groups {
		list := make([]Group, 0, len(m))
		for _, g := range m {
			list = append(list, *g)
		}
		sort.Slice(list, func(i, j int) bool {
			if strings.HasPrefix(name, "day") {
				return list[i].Key < list[j].Key
			}
			if list[i].CostMicros != list[j].CostMicros {
				return list[i].CostMicros > list[j].CostMicros
			}
			return list[i].Key < list[j].Key
		})
		out.Groups[name] = list
	}
	if out.Total.Calls > 0 {
		out.CacheHitRate = float64(out.Total.CacheHits) / float64(out.Total.Calls)
	}
	out.ProjectedMonthMicros, out.ProjectedMonthBaselineMicros, err = s.project(ctx, f, now)
	return out, err
}

// groupKey reads a groupBy name: one of GroupBys, or several joined by ":"
// ("day:provider"), whose keys are joined by "|" ("2026-11-01|openai").
func groupKey(name, scope string) (func(storage.LedgerEntry) string, error) {
	var parts []func(storage.LedgerEntry) string
	for _, g := range strings.Split(name, ":") {
		fn := GroupBys[g]
		if fn == nil {
			return nil, apperr.Invalid("groupBy %q: use provider, model, service, user, kind, arm, cache, collection or day, or two joined by \":\" (day:provider)", name)
		}
		if g == "user" && scope != "all" {
			return nil, apperr.Forbidden("only admins group by user")
		}
		parts = append(parts, fn)
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return func(e storage.LedgerEntry) string {
		keys := make([]string, len(parts))
		for i, fn := range parts {
			keys[i] = fn(e)
		}
		return strings.Join(keys, "|")
	}, nil
}

// project extrapolates the current month from its spend so far.
func (s *Service) project(ctx context.Context, f storage.LedgerFilter, now time.Time) (int64, int64, error) {
	now = now.UTC()
	start := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 1, 0)
	f.From, f.To = start, now.Add(time.Second)
	var cost, base int64
	err := s.ledger.EachLedger(ctx, f, func(e storage.LedgerEntry) error {
		cost += e.CostMicros
		if e.Outcome == storage.OutcomeOK {
			base += e.BaselineMicros
		}
		return nil
	})
	elapsed := now.Sub(start)
	if elapsed < time.Hour {
		elapsed = time.Hour // too early in the month to extrapolate wildly
	}
	scale := float64(end.Sub(start)) / float64(elapsed)
	return int64(float64(cost) * scale), int64(float64(base) * scale), err
}

// filter turns a query into a ledger filter and its scope; members see
// only their own calls.
func filter(q Query) (storage.LedgerFilter, string, error) {
	f := storage.LedgerFilter{From: q.From, To: q.To, UserID: q.UserID}
	scope := "user"
	if q.IsAdmin {
		f.UserID, scope = q.ForUser, "all"
		if q.ForUser != "" {
			scope = "user"
		}
	} else if q.ForUser != "" && q.ForUser != q.UserID {
		return f, "", apperr.NotFound("user")
	}
	return f, scope, nil
}
