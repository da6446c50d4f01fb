package costs_test

import (
	"context"
	"encoding/csv"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/costs"
	"github.com/penny-dev/penny/storage"
	"github.com/penny-dev/penny/storage/bolt"
)

var nov = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// ledger is a golden month: known entries, known totals.
func ledger(t *testing.T) *costs.Service {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "p.db"), bolt.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	ctx := context.Background()
	add := func(day int, user, service, kind, provider, model string, cost, base int64, ok, cache bool, avoided int64) {
		e := storage.LedgerEntry{ID: storage.NewID(), Time: nov.AddDate(0, 0, day-1).Add(time.Hour), UserID: user, Service: service, Kind: kind,
			Provider: provider, Model: model, CostMicros: cost, BaselineMicros: base, TokensIn: 100, TokensOut: 10,
			Outcome: storage.OutcomeOK, CacheHit: cache, AvoidedMicros: avoided}
		if !ok {
			e.Outcome = storage.OutcomeError
		}
		require.NoError(t, st.AppendLedger(ctx, e))
	}
	add(1, "u1", "ingest", "embedding", "cloudflare", "@cf/baai/bge-m3", 10, 20, true, false, 0)
	add(1, "u1", "rag", "chat", "cloudflare", "@cf/meta/llama-3.2-3b-instruct", 0, 750, false, false, 0) // failed: no baseline
	add(1, "u1", "rag", "chat", "openai", "gpt-4o-mini", 750, 750, true, false, 0)
	add(2, "u2", "chat", "chat", "anthropic", "claude-haiku-4-5", 5000, 750, true, false, 0)
	add(2, "u2", "chat", "chat", "anthropic", "claude-haiku-4-5", 40, 750, false, false, 0) // failed, partly billed: waste
	add(3, "u1", "rag", "chat", "cache", "gpt-4o-mini", 0, 750, true, true, 750)
	add(40, "u1", "rag", "chat", "openai", "gpt-4o-mini", 999, 999, true, false, 0) // December: outside
	return costs.New(st)
}

func TestMetricsArithmetic(t *testing.T) {
	s := ledger(t)
	q := costs.Query{IsAdmin: true, From: nov, To: nov.AddDate(0, 1, 0)}
	m, err := s.Metrics(context.Background(), q, []string{"provider", "kind", "user", "day"}, nov.AddDate(0, 0, 10))
	require.NoError(t, err)
	tot := m.Total
	require.Equal(t, 6, tot.Calls)
	require.Equal(t, 2, tot.Errors)
	require.Equal(t, int64(10+750+5000+40), tot.CostMicros)
	require.Equal(t, int64(20+750+750+750), tot.BaselineMicros, "failed attempts replaced nothing")
	require.Equal(t, tot.BaselineMicros-tot.CostMicros, tot.SavingsMicros)
	require.Equal(t, int64(40), tot.WasteMicros)
	require.Equal(t, 1, tot.CacheHits)
	require.Equal(t, int64(750), tot.CacheSavingsMicros)
	require.InDelta(t, 1.0/6, m.CacheHitRate, 1e-9)
	require.Equal(t, "anthropic", m.Groups["provider"][0].Key, "most expensive first")
	require.Len(t, m.Groups["day"], 3)
	require.Equal(t, "2026-11-01", m.Groups["day"][0].Key)
	require.Len(t, m.Groups["user"], 2)
	// Ten days into a 30-day month: ×3 (the December entry is not this month).
	require.Equal(t, 3*tot.CostMicros, m.ProjectedMonthMicros)

	// Members see their own and cannot group by user.
	own, err := s.Metrics(context.Background(), costs.Query{UserID: "u2", From: nov, To: nov.AddDate(0, 1, 0)}, nil, nov.AddDate(0, 0, 10))
	require.NoError(t, err)
	require.Equal(t, 2, own.Total.Calls)
	_, err = s.Metrics(context.Background(), costs.Query{UserID: "u2", From: nov, To: nov.AddDate(0, 1, 0)}, []string{"user"}, nov)
	require.Error(t, err)
	_, err = s.Metrics(context.Background(), q, []string{"colour"}, nov)
	require.Error(t, err)
}

func TestReportAndStatement(t *testing.T) {
	s := ledger(t)
	q := costs.Query{IsAdmin: true}
	var md strings.Builder
	require.NoError(t, s.Report(context.Background(), q, nov, "md", nov.AddDate(0, 1, 5), &md))
	out := md.String()
	require.Contains(t, out, "# penny savings report — 2026-11")
	require.Contains(t, out, "| Embeddings | 1 | $0.000010 | $0.000020 | $0.000010 (50.0 %) |")
	require.Contains(t, out, "| **Total** | 6 | $0.005800 | $0.002270 |")
	require.Contains(t, out, "Failed attempts (failover and retries): 2, costing $0.000040")
	require.Contains(t, out, "Cache: 1 hits (16.7 % of calls), $0.000750 avoided")
	require.Contains(t, out, "| A year at this rate | $0.069600 |", "a past month projects at its actual total")
	require.Contains(t, out, "| (no answers this month) |", "quality section even when empty")

	var c strings.Builder
	require.NoError(t, s.Report(context.Background(), q, nov, "csv", nov.AddDate(0, 1, 5), &c))
	rows, err := csv.NewReader(strings.NewReader(c.String())).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"section", "key", "calls", "errors", "cost_usd", "baseline_usd", "savings_usd"}, rows[0])
	require.Equal(t, []string{"total", "total", "6", "2", "0.005800", "0.002270", "-0.003530"}, rows[3])
	require.Error(t, s.Report(context.Background(), q, nov, "pdf", nov, &c))

	var st strings.Builder
	require.NoError(t, s.Statement(context.Background(), costs.Query{UserID: "u1"}, nov, func(id string) string { return id + "@example.com" }, &st))
	rows, err = csv.NewReader(strings.NewReader(st.String())).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 1+4, "u1's four (day, service, provider, model) groups in November")
	for _, r := range rows[1:] {
		require.Equal(t, "u1", r[1])
		require.Equal(t, "u1@example.com", r[2])
	}
}
