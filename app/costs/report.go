package costs

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/penny-dev/penny/app/apperr"
	"github.com/penny-dev/penny/storage"
)

// ParseMonth reads "2026-11" (UTC) and returns its first instant.
func ParseMonth(v string) (time.Time, error) {
	t, err := time.Parse("2006-01", v)
	if err != nil {
		return time.Time{}, apperr.Invalid("month must look like 2026-11")
	}
	return t.UTC(), nil
}

func usd(micros int64) string { return fmt.Sprintf("$%.6f", float64(micros)/1e6) }

func pct(part, whole int64) string {
	if whole == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f %%", 100*float64(part)/float64(whole))
}

// Report writes the savings report of one month — actual cost against the
// OpenAI-only baseline for embeddings and generation, daily, by provider,
// the run-rate projection, cache use and failover waste — as Markdown
// ("md") or CSV. Every figure comes from the ledger.
func (s *Service) Report(ctx context.Context, q Query, month time.Time, format string, now time.Time, w io.Writer) error {
	if format != "md" && format != "csv" {
		return apperr.Invalid("format must be md or csv")
	}
	q.From, q.To = month, month.AddDate(0, 1, 0)
	m, err := s.Metrics(ctx, q, []string{"kind", "day", "provider"}, now)
	if err != nil {
		return err
	}
	kinds := map[string]Group{}
	for _, g := range m.Groups["kind"] {
		kinds[g.Key] = g
	}
	projected, projectedBase := m.Total.CostMicros, m.Total.BaselineMicros
	if now.After(month) && now.Before(q.To) {
		projected, projectedBase = m.ProjectedMonthMicros, m.ProjectedMonthBaselineMicros
	}
	var quality []QualityLine
	if s.Quality != nil {
		if quality, err = s.Quality(ctx, q.From, q.To); err != nil {
			return err
		}
	}
	if format == "csv" {
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"section", "key", "calls", "errors", "cost_usd", "baseline_usd", "savings_usd"})
		row := func(section string, g Group) {
			_ = cw.Write([]string{section, g.Key, strconv.Itoa(g.Calls), strconv.Itoa(g.Errors), micros(g.CostMicros), micros(g.BaselineMicros), micros(g.SavingsMicros)})
		}
		for _, k := range []string{"embedding", "chat"} {
			row("kind", withKey(kinds[k], k))
		}
		row("total", m.Total)
		for _, g := range m.Groups["day"] {
			row("day", g)
		}
		for _, g := range m.Groups["provider"] {
			row("provider", g)
		}
		_ = cw.Write([]string{"projection", "month", "", "", micros(projected), micros(projectedBase), micros(projectedBase - projected)})
		_ = cw.Write([]string{"projection", "year", "", "", micros(12 * projected), micros(12 * projectedBase), micros(12 * (projectedBase - projected))})
		_ = cw.Write([]string{"waste", "failed attempts", strconv.Itoa(m.Total.Errors), "", micros(m.Total.WasteMicros), "", ""})
		_ = cw.Write([]string{"cache", "hits", strconv.Itoa(m.Total.CacheHits), "", "", "", micros(m.Total.CacheSavingsMicros)})
		if len(quality) > 0 {
			_ = cw.Write([]string{"quality", "provider/model (arm)", "answers", "rated", "satisfaction", "groundedness_samples", "groundedness"})
			for _, l := range quality {
				_ = cw.Write([]string{"quality", l.Provider + "/" + l.Model + " (" + l.Arm + ")", strconv.Itoa(l.Answers), strconv.Itoa(l.Rated),
					rate(l.Satisfaction), strconv.Itoa(l.GroundednessSamples), rate(l.Groundedness)})
			}
		}
		cw.Flush()
		return cw.Error()
	}

	var b strings.Builder
	fmt.Fprintf(&b, "# penny savings report — %s\n\n", month.Format("2006-01"))
	fmt.Fprintf(&b, "Generated %s from %d ledger entries (scope: %s). The baseline prices the same tokens at the OpenAI-only reference.\n\n",
		now.UTC().Format(time.RFC3339), m.Total.Calls, m.Scope)
	fmt.Fprintln(&b, "| | calls | actual | OpenAI-only baseline | saved |")
	fmt.Fprintln(&b, "|---|---|---|---|---|")
	for _, k := range []struct{ key, name string }{{"embedding", "Embeddings"}, {"chat", "Generation"}} {
		g := kinds[k.key]
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s (%s) |\n", k.name, g.Calls, usd(g.CostMicros), usd(g.BaselineMicros), usd(g.SavingsMicros), pct(g.SavingsMicros, g.BaselineMicros))
	}
	t := m.Total
	fmt.Fprintf(&b, "| **Total** | %d | %s | %s | %s (%s) |\n\n", t.Calls, usd(t.CostMicros), usd(t.BaselineMicros), usd(t.SavingsMicros), pct(t.SavingsMicros, t.BaselineMicros))
	fmt.Fprintf(&b, "Failed attempts (failover and retries): %d, costing %s. Cache: %d hits (%.1f %% of calls), %s avoided.\n\n",
		t.Errors, usd(t.WasteMicros), t.CacheHits, 100*m.CacheHitRate, usd(t.CacheSavingsMicros))
	fmt.Fprintln(&b, "## Projection\n\n| | actual | baseline | saved |\n|---|---|---|---|")
	fmt.Fprintf(&b, "| The month (run rate) | %s | %s | %s |\n", usd(projected), usd(projectedBase), usd(projectedBase-projected))
	fmt.Fprintf(&b, "| A year at this rate | %s | %s | %s |\n\n", usd(12*projected), usd(12*projectedBase), usd(12*(projectedBase-projected)))
	fmt.Fprintln(&b, "## Daily\n\n| date | calls | actual | baseline | saved |\n|---|---|---|---|---|")
	for _, g := range m.Groups["day"] {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", g.Key, g.Calls, usd(g.CostMicros), usd(g.BaselineMicros), usd(g.SavingsMicros))
	}
	fmt.Fprintln(&b, "\n## By provider\n\n| provider | calls | failed | actual | baseline |\n|---|---|---|---|---|")
	for _, g := range m.Groups["provider"] {
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %s |\n", g.Key, g.Calls, g.Errors, usd(g.CostMicros), usd(g.BaselineMicros))
	}
	fmt.Fprintln(&b, "\n## Quality, side by side\n\n| provider / model | arm | answers | rated | satisfaction | groundedness (samples) |\n|---|---|---|---|---|---|")
	if len(quality) == 0 {
		fmt.Fprintln(&b, "| (no answers this month) | | | | | |")
	}
	for _, l := range quality {
		fmt.Fprintf(&b, "| %s/%s | %s | %d | %d | %s | %s (%d) |\n", l.Provider, l.Model, l.Arm, l.Answers, l.Rated, rate(l.Satisfaction), rate(l.Groundedness), l.GroundednessSamples)
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// rate prints a ratio as a percentage, or "–" without samples.
func rate(r *float64) string {
	if r == nil {
		return "–"
	}
	return fmt.Sprintf("%.0f %%", 100**r)
}

func withKey(g Group, k string) Group {
	g.Key = k
	return g
}

func micros(m int64) string { return strconv.FormatFloat(float64(m)/1e6, 'f', 6, 64) }

// Statement writes one month's usage per user, day, service, provider and
// model as CSV, for chargeback. email names users.
func (s *Service) Statement(ctx context.Context, q Query, month time.Time, email func(string) string, w io.Writer) error {
	q.From, q.To = month, month.AddDate(0, 1, 0)
	f, _, err := filter(q)
	if err != nil {
		return err
	}
	type key struct{ user, day, service, provider, model string }
	rows := map[key]*Group{}
	err = s.ledger.EachLedger(ctx, f, func(e storage.LedgerEntry) error {
		k := key{e.UserID, e.Time.UTC().Format(time.DateOnly), e.Service, e.Provider, e.Model}
		if rows[k] == nil {
			rows[k] = &Group{}
		}
		rows[k].add(e)
		return nil
	})
	if err != nil {
		return err
	}
	keys := make([]key, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		return a.user+a.day+a.service+a.provider+a.model < b.user+b.day+b.service+b.provider+b.model
	})
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"month", "user_id", "user_email", "date", "service", "provider", "model", "calls", "tokens_in", "tokens_out", "cost_usd", "baseline_usd"})
	for _, k := range keys {
		g := rows[k]
		_ = cw.Write([]string{month.Format("2006-01"), k.user, email(k.user), k.day, k.service, k.provider, k.model, strconv.Itoa(g.Calls),
			strconv.FormatInt(g.TokensIn, 10), strconv.FormatInt(g.TokensOut, 10), micros(g.CostMicros), micros(g.BaselineMicros)})
	}
	cw.Flush()
	return cw.Error()
}
