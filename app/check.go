package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/penny-dev/penny/app/config"
	"github.com/penny-dev/penny/providers"
	"github.com/penny-dev/penny/providers/catalog"
)

// CheckProviders is `penny providers check`: for every configured
// provider it pings (free), then makes one tiny chat call to its cheapest
// chat model and one to each embedding model it hosts, and prints whether
// each answers, how fast, and what the call cost. These calls are real and
// billed by the provider (a few tokens); they are not booked on the ledger.
// It returns an error when any check failed.
func CheckProviders(ctx context.Context, cfg config.Config, logger *slog.Logger, out io.Writer) error {
	ps, err := buildProviders(ctx, cfg.Providers, logger, time.Now())
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PROVIDER\tCHECK\tMODEL\tRESULT\tLATENCY\tTOKENS\tCOST")
	failed := 0
	row := func(provider, check, model string, start time.Time, err error, u providers.Usage, m catalog.Model) {
		result, cost, tokens := "ok", "-", "-"
		if err != nil {
			result = "FAIL: " + err.Error()
			failed++
		} else if check != "ping" {
			tokens = fmt.Sprintf("%d in / %d out", u.InputTokens, u.OutputTokens)
			micros := m.Cost(u)
			cost = fmt.Sprintf("$%.6f (%d µ$)", float64(micros)/1e6, micros)
			if m.Free {
				cost = "free"
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", provider, check, model, result, time.Since(start).Round(time.Millisecond), tokens, cost)
	}
	names := make([]string, 0, len(ps.pingers))
	for name := range ps.pingers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		start := time.Now()
		pctx, cancel := context.WithTimeout(ctx, cfg.Providers.Timeout)
		row(name, "ping", "-", start, ps.pingers[name].Ping(pctx), providers.Usage{}, catalog.Model{})
		cancel()
		// The cheapest chat model of this provider, across tiers.
		for _, tier := range catalog.Tiers {
			done := false
			for _, c := range ps.tiers[tier] {
				if c.Provider != name {
					continue
				}
				m, _ := ps.catalog.Lookup(c.Provider, c.Model)
				start := time.Now()
				cctx, cancel := context.WithTimeout(ctx, cfg.Providers.Timeout)
				resp, err := c.Client.Chat(cctx, providers.ChatRequest{Model: c.Model, MaxTokens: 5,
					Messages: []providers.Message{{Role: "user", Content: "Reply with the word OK."}}})
				cancel()
				row(name, "chat", c.Model, start, err, resp.Usage, m)
				done = true
				break
			}
			if done {
				break
			}
		}
		models := make([]string, 0)
		for model, hosts := range ps.embedders {
			for _, h := range hosts {
				if h.Provider == name {
					models = append(models, model)
				}
			}
		}
		sort.Strings(models)
		for _, model := range models {
			for _, h := range ps.embedders[model] {
				if h.Provider != name {
					continue
				}
				m, _ := ps.catalog.Lookup(h.Provider, model)
				start := time.Now()
				ectx, cancel := context.WithTimeout(ctx, cfg.Providers.Timeout)
				resp, err := h.Client.Embed(ectx, providers.EmbedRequest{Model: model, Texts: []string{"ping"}})
				cancel()
				row(name, "embed", model, start, err, resp.Usage, m)
			}
		}
	}
	if len(names) == 0 {
		fmt.Fprintln(w, "local\t-\t-\tno provider is configured: only the built-in offline provider is used\t-\t-\tfree")
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d check(s) failed", failed)
	}
	return nil
}
