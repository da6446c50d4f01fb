// Package costs reads the ledger: what model calls cost, what the same
// tokens would have cost on the OpenAI-only baseline, by provider and by
// service. Members see their own calls; admins see everyone's.
package costs

import (
	"context"
	"sort"
	"time"

	"github.com/penny-dev/penny/app/apperr"
	"github.com/penny-dev/penny/storage"
)

// Ledger is what costs reads.
type Ledger interface {
	EachLedger(ctx context.Context, f storage.LedgerFilter, fn func(storage.LedgerEntry) error) error
}

// Service is the costs capability.
type Service struct {
	ledger Ledger
	// Quality, when set, puts answer quality beside cost in reports.
	Quality func(ctx context.Context, from, to time.Time) ([]QualityLine, error)
}

// QualityLine is one provider/model/arm's answer quality, with the counts
// each rate rests on (rates are nil without samples).
type QualityLine struct {
	Provider, Model, Arm string
	Answers, Rated       int
	Satisfaction         *float64
	GroundednessSamples  int
	Groundedness         *float64
}

// New returns the service.
func New(l Ledger) *Service { return &Service{ledger: l} }

// Line is one group of a summary. Money is integer micro-dollars.
type Line struct {
	Key            string `json:"key"`
	Calls          int    `json:"calls"`
	Errors         int    `json:"errors"`
	TokensIn       int64  `json:"tokensIn"`
	TokensOut      int64  `json:"tokensOut"`
	CostMicros     int64  `json:"costMicros"`
	BaselineMicros int64  `json:"baselineMicros"`
	SavingsMicros  int64  `json:"savingsMicros"`
}

func (l *Line) add(e storage.LedgerEntry) {
	l.Calls++
	if e.Outcome != storage.OutcomeOK {
		l.Errors++
	}
	l.TokensIn += int64(e.TokensIn)
	l.TokensOut += int64(e.TokensOut)
	l.CostMicros += e.CostMicros
	l.BaselineMicros += e.BaselineMicros
	l.SavingsMicros = l.BaselineMicros - l.CostMicros
}

// Summary is the answer of GET /api/costs/summary.
type Summary struct {
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	Scope      string    `json:"scope"` // "user" or "all"
	Total      Line      `json:"total"`
	ByProvider []Line    `json:"byProvider"`
	ByService  []Line    `json:"byService"`
}

// Query selects a summary.
type Query struct {
	UserID  string
	IsAdmin bool
	// ForUser lets an admin narrow to one user; members always get their own.
	ForUser  string
	From, To time.Time
}

// Summarize totals the ledger in [From, To).
func (s *Service) Summarize(ctx context.Context, q Query) (Summary, error) {
	if !q.To.After(q.From) {
		return Summary{}, apperr.Invalid("to must be after from")
	}
	f, scope, err := filter(q)
	if err != nil {
		return Summary{}, err
	}
	out := Summary{From: q.From, To: q.To, Scope: scope, Total: Line{Key: "total"}}
	byProvider, byService := map[string]*Line{}, map[string]*Line{}
	err = s.ledger.EachLedger(ctx, f, func(e storage.LedgerEntry) error {
		out.Total.add(e)
		group(byProvider, e.Provider).add(e)
		group(byService, e.Service).add(e)
		return nil
	})
	out.ByProvider, out.ByService = lines(byProvider), lines(byService)
	return out, err
}

func group(m map[string]*Line, key string) *Line {
	if m[key] == nil {
		m[key] = &Line{Key: key}
	}
	return m[key]
}

func lines(m map[string]*Line) []Line {
	out := make([]Line, 0, len(m))
	for _, l := range m {
		out = append(out, *l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
