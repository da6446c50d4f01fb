// Package seed fills an empty penny with a realistic demo instance: ten
// accounts with roles, documents (generated PDFs and Markdown) in two
// collections, shared and private, twenty conversations answered through
// the real document path, feedback, API keys, and thirty days of ledger
// history across providers, priced from the catalog. It exists so that a
// new user, a screenshot or a UI test sees penny as it looks in use.
//
// Documents, answers and citations are real (uploaded, parsed, chunked,
// embedded and answered by the built-in provider). The ledger history of
// the other providers is made up — its token counts are invented, its
// prices are the catalog's — and every such entry has the request id
// "demo", so it can be told apart.
package seed

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/penny-dev/penny/app"
	"github.com/penny-dev/penny/app/auth"
	"github.com/penny-dev/penny/app/chat"
	"github.com/penny-dev/penny/app/config"
	"github.com/penny-dev/penny/app/documents"
	"github.com/penny-dev/penny/app/documents/pdftest"
	"github.com/penny-dev/penny/providers"
	"github.com/penny-dev/penny/providers/catalog"
	"github.com/penny-dev/penny/storage"
)

// Domain is the e-mail domain of every demo account (reserved by RFC 2606).
const Domain = "demo.example"

// Password is every demo account's password.
const Password = "penny-demo-password"

// RequestID marks the made-up ledger history.
const RequestID = "demo"

// seededSetting records that the demo is in place (idempotence).
const seededSetting = "demo.seeded"

// Summary says what Demo made.
type Summary struct {
	Already                                     bool
	Users, Documents, Chats, Messages, Feedback int
	LedgerEntries                               int
	Took                                        time.Duration
}

// ErrNotDemo means the data dir holds accounts that are not the demo's.
var ErrNotDemo = errors.New("this data dir holds accounts that are not demo accounts")

type person struct {
	name string
	role storage.Role
}

var people = []person{
	{"ada", storage.RoleAdmin}, {"grace", storage.RoleAdmin}, {"alan", storage.RoleMember}, {"barbara", storage.RoleMember},
	{"edsger", storage.RoleMember}, {"frances", storage.RoleMember}, {"john", storage.RoleMember}, {"katherine", storage.RoleMember},
	{"margaret", storage.RoleMember}, {"dennis", storage.RoleMember},
}

// Demo seeds a, which must hold no accounts but the demo's. Run twice, it
// does nothing the second time.
func Demo(ctx context.Context, a *app.App) (Summary, error) {
	start := time.Now()
	if _, err := a.Store.GetSetting(ctx, seededSetting); err == nil {
		return Summary{Already: true}, nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return Summary{}, err
	}
	if err := onlyDemo(ctx, a.Store); err != nil {
		return Summary{}, err
	}
	var sum Summary
	now := time.Now().UTC()
	rng := rand.New(rand.NewPCG(2026, 11)) // the same demo every time

	users := make([]storage.User, len(people))
	for i, p := range people {
		u, err := a.Auth.CreateUser(ctx, p.name+"@"+Domain, Password, p.role)
		if err != nil {
			return sum, fmt.Errorf("seed: user %s: %w", p.name, err)
		}
		users[i] = u
	}
	sum.Users = len(users)

	docs, err := uploadDocuments(ctx, a, users)
	if err != nil {
		return sum, err
	}
	sum.Documents = len(docs)

	n, m, f, err := conversations(ctx, a, users, now, rng)
	if err != nil {
		return sum, err
	}
	sum.Chats, sum.Messages, sum.Feedback = n, m, f

	for i, name := range []string{"reporting script", "support bot", "notebook"} {
		u := users[i]
		p := auth.Principal{UserID: u.ID, Email: u.Email, Role: u.Role}
		limits := auth.KeyLimits{RPM: 60 * (i + 1), MonthlyBudgetMicros: int64(i) * 5_000_000} // the first without a cap
		if _, _, err := a.Auth.CreateAPIKey(ctx, p, name, limits); err != nil {
			return sum, err
		}
	}

	if sum.LedgerEntries, err = history(ctx, a, users, now, rng); err != nil {
		return sum, err
	}
	if err := a.Store.PutSetting(ctx, seededSetting, []byte(now.Format(time.RFC3339))); err != nil {
		return sum, err
	}
	sum.Took = time.Since(start)
	return sum, nil
}

// onlyDemo refuses a store with accounts outside the demo domain.
func onlyDemo(ctx context.Context, st storage.UserStore) error {
	users, err := st.ListUsers(ctx)
	if err != nil {
		return err
	}
	for _, u := range users {
		if !strings.HasSuffix(u.Email, "@"+Domain) {
			return fmt.Errorf("%w (%s)", ErrNotDemo, u.Email)
		}
	}
	return nil
}

// Reset removes a demo instance from the data dir: the store, the
// indexes and the uploaded originals. It refuses when the store holds any
// account outside the demo, and while a server holds the data dir.
func Reset(ctx context.Context, cfg config.Config) error {
	if _, err := os.Stat(cfg.StorePath()); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	st, err := app.OpenIdleStore(cfg)
	if err != nil {
		return err
	}
	err = onlyDemo(ctx, st)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return app.RemoveData(cfg)
}

// uploadDocuments uploads the handbook (shared with everyone) and the
// research notes (Ada's, shared with two colleagues), ten PDFs and six
// Markdown files in all, and waits until they are ready.
func uploadDocuments(ctx context.Context, a *app.App, users []storage.User) ([]storage.Document, error) {
	var all []storage.Document
	for _, set := range library {
		owner := users[set.owner]
		files := make([]documents.File, len(set.docs))
		for i, d := range set.docs {
			files[i] = d.file()
		}
		up, err := a.Documents.Upload(ctx, owner.ID, RequestID, set.collection, files)
		if err != nil {
			return nil, fmt.Errorf("seed: upload %s: %w", set.collection, err)
		}
		ids := make([]string, len(up))
		for i, d := range up {
			ids[i] = d.ID
		}
		ready, err := a.Documents.Wait(ctx, owner.ID, ids)
		if err != nil {
			return nil, err
		}
		for _, d := range ready {
			if d.Status != storage.DocumentReady {
				return nil, fmt.Errorf("seed: %s is %s: %s", d.Filename, d.Status, d.Error)
			}
			var emails []string
			for _, r := range set.readers {
				emails = append(emails, users[r].Email)
			}
			if set.everyone || len(emails) > 0 {
				if _, err := a.Documents.Share(ctx, owner.ID, d.ID, emails, set.everyone); err != nil {
					return nil, err
				}
			}
		}
		all = append(all, ready...)
	}
	return all, nil
}

// conversations asks the questions of each user's chats through the chat
// service — real retrieval and extractive answers with citations — on a
// clock set back over the last 30 days, and rates some answers.
func conversations(ctx context.Context, a *app.App, users []storage.User, now time.Time, rng *rand.Rand) (chats, messages, feedback int, err error) {
	var at time.Time
	svc := chat.New(a.Store, a.RAG, a.Router, chat.Options{Now: func() time.Time { return at }})
	for i, c := range dialogues {
		u := users[i%len(users)]
		at = now.Add(-time.Duration(29-i) * 36 * time.Hour).Add(-time.Duration(rng.IntN(600)) * time.Minute)
		ch, err := svc.Create(ctx, u.ID, c.title)
		if err != nil {
			return chats, messages, feedback, err
		}
		chats++
		for _, q := range c.questions {
			at = at.Add(time.Duration(1+rng.IntN(4)) * time.Minute)
			reply, err := svc.Send(ctx, chat.Send{UserID: u.ID, RequestID: RequestID, ChatID: ch.ID, Content: q}, nil)
			if err != nil {
				return chats, messages, feedback, fmt.Errorf("seed: ask %q: %w", q, err)
			}
			messages += 2
			if r := rng.IntN(10); r < 4 {
				rating, comment := "up", ""
				if r == 0 {
					rating, comment = "down", "I wanted the exact number of days."
				}
				if _, err := a.Quality.Feedback(ctx, u.ID, reply.Assistant.ID, rating, comment); err != nil {
					return chats, messages, feedback, err
				}
				feedback++
			}
		}
	}
	return chats, messages, feedback, nil
}

// history books 30 days of made-up traffic across the providers of the
// catalog: chat and document answers on Workers AI, OpenAI and Anthropic
// by tier, embeddings at ingest, gateway calls, cache hits, a few failed
// attempts. Costs and baselines are the catalog's prices for the tokens.
func history(ctx context.Context, a *app.App, users []storage.User, now time.Time, rng *rand.Rand) (int, error) {
	cat := a.Catalog
	today := now.Format("2006-01-02")
	pick := func(provider, kind, tier string) (catalog.Model, bool) {
		var best catalog.Model
		found := false
		for _, m := range cat.Models() {
			retired := m.Deprecated != "" && m.Deprecated <= today
			if m.Provider != provider || m.Kind != kind || retired || (tier != "" && m.Tier != tier) {
				continue
			}
			if !found || m.InputMicrosPerM+m.OutputMicrosPerM < best.InputMicrosPerM+best.OutputMicrosPerM ||
				(m.InputMicrosPerM+m.OutputMicrosPerM == best.InputMicrosPerM+best.OutputMicrosPerM && m.ID < best.ID) {
				best, found = m, true
			}
		}
		return best, found
	}
	type route struct {
		model     catalog.Model
		tier, arm string
		share     int // out of 100
	}
	// Mostly Workers AI, as the router prefers it; OpenAI's baseline
	// model for the control arm of a 90/10 traffic split; Anthropic and
	// OpenAI's large model after failovers.
	var routes []route
	for _, r := range []struct {
		provider, tier, arm string
		share               int
	}{{"cloudflare", "small", "cheap", 50}, {"cloudflare", "medium", "cheap", 20}, {"cloudflare", "large", "cheap", 10},
		{"openai", "small", "control", 10}, {"anthropic", "medium", "cheap", 5}, {"openai", "large", "cheap", 5}} {
		if m, ok := pick(r.provider, "chat", r.tier); ok {
			routes = append(routes, route{m, r.tier, r.arm, r.share})
		}
	}
	embed, hasEmbed := pick("cloudflare", "embedding", "")
	if len(routes) == 0 {
		return 0, errors.New("seed: the catalog has no chat models to book history for")
	}
	services := []string{storage.ServiceChat, storage.ServiceRAG, storage.ServiceRAG, storage.ServiceGateway}
	collections := []string{"handbook", "research"}
	n := 0
	for day := 30; day >= 1; day-- {
		base := now.Add(-time.Duration(day) * 24 * time.Hour)
		calls := 25 + rng.IntN(20) + (30-day)/2 // growing use
		for c := 0; c < calls; c++ {
			u := users[rng.IntN(len(users))]
			at := base.Add(time.Duration(rng.IntN(24*60)) * time.Minute)
			r := routes[len(routes)-1]
			for roll, i := rng.IntN(100), 0; i < len(routes); i++ {
				if roll < routes[i].share {
					r = routes[i]
					break
				}
				roll -= routes[i].share
			}
			usage := providers.Usage{InputTokens: 300 + rng.IntN(2500), OutputTokens: 60 + rng.IntN(500)}
			if r.tier == "large" {
				usage.InputTokens += 2000
				usage.OutputTokens += 400
			}
			e := storage.LedgerEntry{ID: storage.NewID(), Time: at, UserID: u.ID, Service: services[rng.IntN(len(services))], Kind: "chat",
				Provider: r.model.Provider, Model: r.model.ID, Tier: r.tier, Arm: r.arm, TokensIn: usage.InputTokens, TokensOut: usage.OutputTokens,
				LatencyMs: int64(300 + rng.IntN(1800)), Outcome: storage.OutcomeOK, RequestID: RequestID,
				Reasons: []string{"demo history"}}
			if e.Service == storage.ServiceRAG {
				e.Collection = collections[rng.IntN(2)]
				g := 0.7 + 0.3*rng.Float64() // document answers are scored
				e.Groundedness = &g
			}
			e.CostMicros = r.model.Cost(usage)
			e.BaselineMicros, e.BaselineModel = cat.BaselineCost("chat", r.tier, usage)
			switch roll := rng.IntN(100); {
			case roll < 12: // answered from cache
				e.CacheHit, e.CacheClass, e.AvoidedMicros, e.CostMicros = true, "rag", e.CostMicros, 0
				e.Provider, e.LatencyMs = "cache", int64(1+rng.IntN(4))
			case roll < 15: // a failed attempt before the failover that answered
				fail := e
				fail.ID, fail.Outcome, fail.Error, fail.BaselineMicros = storage.NewID(), storage.OutcomeError, "rate_limited: 429 Too Many Requests", 0
				fail.TokensOut, fail.CostMicros, fail.LatencyMs = 0, 0, int64(80+rng.IntN(200))
				if err := a.Store.AppendLedger(ctx, fail); err != nil {
					return n, err
				}
				n++
			}
			if err := a.Store.AppendLedger(ctx, e); err != nil {
				return n, err
			}
			n++
		}
		if hasEmbed && day%3 == 0 { // documents embedded at ingest
			usage := providers.Usage{InputTokens: 20000 + rng.IntN(60000)}
			e := storage.LedgerEntry{ID: storage.NewID(), Time: base.Add(9 * time.Hour), UserID: users[0].ID, Service: storage.ServiceIngest,
				Kind: "embedding", Provider: embed.Provider, Model: embed.ID, TokensIn: usage.InputTokens, LatencyMs: int64(200 + rng.IntN(600)),
				Outcome: storage.OutcomeOK, RequestID: RequestID, CostMicros: embed.Cost(usage)}
			e.BaselineMicros, e.BaselineModel = cat.BaselineCost("embedding", "", usage)
			if err := a.Store.AppendLedger(ctx, e); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// wrap breaks text into lines of at most width bytes at spaces.
func wrap(text string, width int) string {
	var b strings.Builder
	for _, para := range strings.Split(text, "\n") {
		line := 0
		for _, w := range strings.Fields(para) {
			if line > 0 && line+1+len(w) > width {
				b.WriteByte('\n')
				line = 0
			} else if line > 0 {
				b.WriteByte(' ')
				line++
			}
			b.WriteString(w)
			line += len(w)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// file renders a demo document: Markdown as is, a PDF page per section.
func (d doc) file() documents.File {
	if !d.pdf {
		return documents.File{Name: d.name, Data: []byte(d.pages[0])}
	}
	pages := make([]string, len(d.pages))
	for i, p := range d.pages {
		pages[i] = wrap(p, 90)
	}
	return documents.File{Name: d.name, Data: pdftest.Make(pages...)}
}
