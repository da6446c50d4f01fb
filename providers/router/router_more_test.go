package router_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/providers"
	"github.com/penny-dev/penny/providers/catalog"
	"github.com/penny-dev/penny/providers/local"
	"github.com/penny-dev/penny/providers/openai"
	"github.com/penny-dev/penny/providers/router"
	"github.com/penny-dev/penny/storage"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// counting is a chat model that fails with err while err is set.
type counting struct {
	mu    sync.Mutex
	err   error
	calls int
}

func (c *counting) Chat(context.Context, providers.ChatRequest) (providers.ChatResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.err != nil {
		return providers.ChatResponse{}, c.err
	}
	return providers.ChatResponse{Text: "ok", Usage: providers.Usage{InputTokens: 10, OutputTokens: 10}}, nil
}

func (c *counting) set(err error) { c.mu.Lock(); c.err = err; c.mu.Unlock() }
func (c *counting) n() int        { c.mu.Lock(); defer c.mu.Unlock(); return c.calls }

func build(t *testing.T, cfg router.Config) *router.Router {
	t.Helper()
	if cfg.Catalog == nil {
		cfg.Catalog = catalog.Default()
	}
	if cfg.Ledger == nil {
		cfg.Ledger = &memLedger{}
	}
	r, err := router.New(cfg)
	require.NoError(t, err)
	return r
}

var down = &providers.Error{Kind: providers.KindUnavailable, Err: errors.New("503")}

// TestBreakerOneDoomedAttemptPerWindow: during an outage the broken
// provider gets Failures calls, then one probe per cooldown window, not
// one call per request.
func TestBreakerOneDoomedAttemptPerWindow(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	cf := &counting{err: down}
	r := build(t, router.Config{Now: clk.Now, Breaker: router.BreakerOptions{Failures: 2, Cooldown: 10 * time.Second, MaxCooldown: time.Minute},
		Tiers: allTiers([]router.ChatCandidate{{Provider: "cloudflare", Model: "@cf/meta/llama-3.2-3b-instruct", Client: cf}, localCand})})
	ask := func() router.Result {
		res, err := r.Chat(context.Background(), router.Call{UserID: "u"}, providers.ChatRequest{}, nil)
		require.NoError(t, err, "no user-visible error: the next candidate answers")
		return res
	}
	for range 50 {
		require.Equal(t, local.Name, ask().Provider)
	}
	require.Equal(t, 2, cf.n(), "two failures open the breaker; the other 48 requests skip it")

	clk.Add(11 * time.Second)
	res := ask()
	require.Equal(t, 3, cf.n(), "one probe after the cooldown")
	require.Equal(t, local.Name, res.Provider)
	for range 20 {
		ask()
	}
	require.Equal(t, 3, cf.n(), "the failed probe reopened it, with a longer cooldown")
	clk.Add(15 * time.Second)
	ask()
	require.Equal(t, 3, cf.n(), "cooldown doubled to 20s")
	clk.Add(6 * time.Second)
	cf.set(nil) // the provider is back
	require.Equal(t, "cloudflare", ask().Provider, "the probe succeeds and closes the breaker")
	require.Equal(t, "cloudflare", ask().Provider)

	h := r.Health()
	require.Equal(t, "cloudflare", h[0].Provider)
	require.Equal(t, router.StateClosed, h[0].Breaker)
	require.Positive(t, h[0].ErrorRate)
	require.Contains(t, h[0].LastError, "503")
}

// TestBreakerSharedAcrossReplicas: a breaker that opens is announced, and
// a replica told so skips the provider without a doomed call of its own.
func TestBreakerSharedAcrossReplicas(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	type opened struct {
		key   string
		until time.Time
	}
	var announced []opened
	cfA, cfB := &counting{err: down}, &counting{}
	cands := func(c *counting) map[string][]router.ChatCandidate {
		return allTiers([]router.ChatCandidate{{Provider: "cloudflare", Model: "@cf/meta/llama-3.2-3b-instruct", Client: c}, localCand})
	}
	opts := router.BreakerOptions{Failures: 2, Cooldown: 10 * time.Second, MaxCooldown: time.Minute}
	a := build(t, router.Config{Now: clk.Now, Breaker: opts, Tiers: cands(cfA),
		BreakerOpened: func(key string, until time.Time) { announced = append(announced, opened{key, until}) }})
	b := build(t, router.Config{Now: clk.Now, Breaker: opts, Tiers: cands(cfB)})
	for range 5 {
		_, err := a.Chat(context.Background(), router.Call{UserID: "u"}, providers.ChatRequest{}, nil)
		require.NoError(t, err)
	}
	require.Equal(t, []opened{{"cloudflare/@cf/meta/llama-3.2-3b-instruct", clk.Now().Add(10 * time.Second)}}, announced,
		"announced once, when it opened")

	b.HoldOpen(announced[0].key, announced[0].until)
	res, err := b.Chat(context.Background(), router.Call{UserID: "u"}, providers.ChatRequest{}, nil)
	require.NoError(t, err)
	require.Equal(t, local.Name, res.Provider)
	require.Zero(t, cfB.n(), "B skipped the provider A saw fail")
	require.Equal(t, router.StateOpen, b.Health()[0].Breaker)

	b.HoldOpen(announced[0].key, clk.Now().Add(time.Second))
	clk.Add(11 * time.Second)
	res, err = b.Chat(context.Background(), router.Call{UserID: "u"}, providers.ChatRequest{}, nil)
	require.NoError(t, err)
	require.Equal(t, "cloudflare", res.Provider, "an earlier window does not shorten the one held; after it B probes on its own")
}

func TestRetryAfterHoldsTheProvider(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	limited := &counting{err: &providers.Error{Kind: providers.KindRateLimited, RetryAfter: 30 * time.Second, Err: errors.New("429")}}
	r := build(t, router.Config{Now: clk.Now, Tiers: allTiers([]router.ChatCandidate{{Provider: "openai", Model: "gpt-4o-mini", Client: limited}, localCand})})
	res, err := r.Chat(context.Background(), router.Call{}, providers.ChatRequest{}, nil)
	require.NoError(t, err)
	require.Equal(t, local.Name, res.Provider)
	limited.set(nil)
	res, err = r.Chat(context.Background(), router.Call{}, providers.ChatRequest{}, nil)
	require.NoError(t, err)
	require.Equal(t, local.Name, res.Provider, "openai asked to wait 30s")
	require.Contains(t, strings.Join(res.Reasons, "|"), "provider asked to wait")
	require.Equal(t, 1, limited.n())
	clk.Add(31 * time.Second)
	res, err = r.Chat(context.Background(), router.Call{}, providers.ChatRequest{}, nil)
	require.NoError(t, err)
	require.Equal(t, "openai", res.Provider)
}

func TestQuotaIsNotRetriedOnTheSameProvider(t *testing.T) {
	quota := &counting{err: &providers.Error{Kind: providers.KindQuota, RetryAfter: time.Hour, Err: errors.New("insufficient_quota")}}
	r := build(t, router.Config{Tiers: allTiers([]router.ChatCandidate{{Provider: "openai", Model: "gpt-4o-mini", Client: quota}, localCand})})
	for range 5 {
		res, err := r.Chat(context.Background(), router.Call{}, providers.ChatRequest{}, nil)
		require.NoError(t, err)
		require.Equal(t, local.Name, res.Provider)
	}
	require.Equal(t, 1, quota.n())
}

func TestTiersAndModelPin(t *testing.T) {
	small, large := &counting{}, &counting{}
	l := &memLedger{}
	r := build(t, router.Config{Ledger: l, Tiers: map[string][]router.ChatCandidate{
		"small": {{Provider: "cloudflare", Model: "@cf/meta/llama-3.2-3b-instruct", Client: small}, localCand},
		"large": {{Provider: "cloudflare", Model: "@cf/meta/llama-3.3-70b-instruct-fp8-fast", Client: large}, localCand},
	}})
	hard := providers.ChatRequest{Messages: []providers.Message{{Role: "user", Content: "Design a sharded architecture, explain the trade-offs step by step and prove it scales."}}}
	res, err := r.Chat(context.Background(), router.Call{}, hard, nil)
	require.NoError(t, err)
	require.Equal(t, "large", res.Tier)
	require.Equal(t, "@cf/meta/llama-3.3-70b-instruct-fp8-fast", res.Model)
	require.Contains(t, res.Reasons[0], "tier large")
	require.Equal(t, "large", l.entries[0].Tier)
	require.Contains(t, strings.Join(l.entries[0].Reasons, "|"), "multi-step reasoning")
	require.Contains(t, l.entries[0].Reasons, "candidates: cloudflare/@cf/meta/llama-3.3-70b-instruct-fp8-fast → local/penny-local-extractive")

	res, err = r.Chat(context.Background(), router.Call{Tier: "small"}, hard, nil)
	require.NoError(t, err)
	require.Equal(t, "@cf/meta/llama-3.2-3b-instruct", res.Model)

	res, err = r.Chat(context.Background(), router.Call{Model: "@cf/meta/llama-3.3-70b-instruct-fp8-fast"}, providers.ChatRequest{}, nil)
	require.NoError(t, err)
	require.Equal(t, "@cf/meta/llama-3.3-70b-instruct-fp8-fast", res.Model)
	_, err = r.Chat(context.Background(), router.Call{Model: "gpt-99"}, providers.ChatRequest{}, nil)
	require.ErrorIs(t, err, router.ErrUnknownModel)
}

func TestRollbackSwitchAndTrafficSplit(t *testing.T) {
	cheap, ref := &counting{}, &counting{}
	l := &memLedger{}
	r := build(t, router.Config{Ledger: l,
		Tiers:   allTiers([]router.ChatCandidate{{Provider: "cloudflare", Model: "@cf/meta/llama-3.2-3b-instruct", Client: cheap}, localCand}),
		Control: allTiers([]router.ChatCandidate{{Provider: "openai", Model: "gpt-4o-mini", Client: ref}}),
	})
	// Rollback: everything to openai, without a restart.
	r.SetSettings(router.Settings{ForceProvider: "openai", CheapPercent: 100})
	res, err := r.Chat(context.Background(), router.Call{UserID: "u1"}, providers.ChatRequest{}, nil)
	require.NoError(t, err)
	require.Equal(t, "openai", res.Provider)
	require.Contains(t, strings.Join(res.Reasons, "|"), "rollback switch")

	// 50 % split: sticky per user, the arm on the ledger.
	r.SetSettings(router.Settings{CheapPercent: 50})
	arms := map[string]string{}
	counts := map[string]int{}
	for i := range 200 {
		user := fmt.Sprintf("user-%d", i)
		for range 2 {
			res, err := r.Chat(context.Background(), router.Call{UserID: user}, providers.ChatRequest{}, nil)
			require.NoError(t, err)
			if prev, ok := arms[user]; ok {
				require.Equal(t, prev, res.Arm, "sticky per user")
			}
			arms[user] = res.Arm
		}
		counts[arms[user]]++
	}
	require.InDelta(t, 100, counts["cheap"], 30)
	require.InDelta(t, 100, counts["control"], 30)
	last := l.entries[len(l.entries)-1]
	require.Equal(t, arms["user-199"], last.Arm)
	if last.Arm == "control" {
		require.Equal(t, "openai", last.Provider)
	}
}

// TestShadowTraffic: with everyone on the control arm and shadowing on,
// each control call is answered by the control model and repeated on the
// cheap arm in the background, booked as arm "shadow" with a groundedness
// score and no baseline; cheap-arm calls and a 0 % shadow are not copied.
func TestShadowTraffic(t *testing.T) {
	cheap, ref := &counting{}, &counting{}
	l := &memLedger{}
	r := build(t, router.Config{Ledger: l,
		Tiers:   allTiers([]router.ChatCandidate{{Provider: "cloudflare", Model: "@cf/meta/llama-3.2-3b-instruct", Client: cheap}}),
		Control: allTiers([]router.ChatCandidate{{Provider: "openai", Model: "gpt-4o-mini", Client: ref}}),
	})
	judge := func(answer string) float64 { return 0.75 }
	r.SetSettings(router.Settings{CheapPercent: 0, ShadowPercent: 100})
	for i := range 5 {
		res, err := r.Chat(context.Background(), router.Call{UserID: fmt.Sprint("u", i), Judge: judge}, providers.ChatRequest{}, nil)
		require.NoError(t, err)
		require.Equal(t, "openai", res.Provider, "the user gets the control answer")
		require.Equal(t, "control", res.Arm)
	}
	r.Close() // waits for the shadows
	require.Equal(t, 5, ref.n())
	require.Equal(t, 5, cheap.n(), "every control call was shadowed on the cheap arm")
	shadows := 0
	for _, e := range l.entries {
		require.NotNil(t, e.Groundedness, "every judged answer is scored, control and shadow")
		if e.Arm != router.ArmShadow {
			continue
		}
		shadows++
		require.Equal(t, "cloudflare", e.Provider)
		require.Positive(t, e.CostMicros, "a shadow's cost is real")
		require.Zero(t, e.BaselineMicros, "it replaced nothing")
		require.InDelta(t, 0.75, *e.Groundedness, 1e-9)
	}
	require.Equal(t, 5, shadows)

	// Cheap-arm traffic is never shadowed; 0 % shadows nothing; nor does
	// the rollback switch or a closed router.
	r2 := build(t, router.Config{Ledger: &memLedger{},
		Tiers:   allTiers([]router.ChatCandidate{{Provider: "cloudflare", Model: "@cf/meta/llama-3.2-3b-instruct", Client: cheap}}),
		Control: allTiers([]router.ChatCandidate{{Provider: "openai", Model: "gpt-4o-mini", Client: ref}}),
	})
	before := cheap.n()
	r2.SetSettings(router.Settings{CheapPercent: 100, ShadowPercent: 100})
	_, err := r2.Chat(context.Background(), router.Call{UserID: "u1"}, providers.ChatRequest{}, nil)
	require.NoError(t, err)
	r2.SetSettings(router.Settings{CheapPercent: 0, ShadowPercent: 0})
	_, err = r2.Chat(context.Background(), router.Call{UserID: "u1"}, providers.ChatRequest{}, nil)
	require.NoError(t, err)
	r2.SetSettings(router.Settings{CheapPercent: 0, ShadowPercent: 100, ForceProvider: "openai"})
	_, err = r2.Chat(context.Background(), router.Call{UserID: "u1"}, providers.ChatRequest{}, nil)
	require.NoError(t, err)
	r2.Close()
	r2.SetSettings(router.Settings{CheapPercent: 0, ShadowPercent: 100})
	_, err = r2.Chat(context.Background(), router.Call{UserID: "u1"}, providers.ChatRequest{}, nil)
	require.NoError(t, err)
	require.Equal(t, before+1, cheap.n(), "only the cheap-arm call itself reached the cheap model")
}

type denyPaid struct{}

func (denyPaid) Reserve(context.Context, router.Call, catalog.Model, int64) (func(int64), error) {
	return nil, errors.New("monthly budget spent")
}

// recordingBudget allows everything and records reservations and settlements.
type recordingBudget struct {
	mu                sync.Mutex
	reserved, settled []int64
}

func (b *recordingBudget) Reserve(_ context.Context, _ router.Call, _ catalog.Model, est int64) (func(int64), error) {
	b.mu.Lock()
	b.reserved = append(b.reserved, est)
	b.mu.Unlock()
	return func(actual int64) { b.mu.Lock(); b.settled = append(b.settled, actual); b.mu.Unlock() }, nil
}

func TestBudgetReserveAndSettle(t *testing.T) {
	b := &recordingBudget{}
	paid := &counting{err: down}
	r := build(t, router.Config{Budget: b, Tiers: allTiers([]router.ChatCandidate{{Provider: "openai", Model: "gpt-4o-mini", Client: paid}, localCand})})
	_, err := r.Chat(context.Background(), router.Call{}, providers.ChatRequest{MaxTokens: 1000, Messages: []providers.Message{{Role: "user", Content: strings.Repeat("word ", 800)}}}, nil)
	require.NoError(t, err)
	require.Len(t, b.reserved, 1, "only the paid model reserves; the built-in one is free")
	require.Equal(t, int64(750), b.reserved[0], "1,000 in × $0.15/M + 1,000 out × $0.60/M")
	require.Equal(t, []int64{0}, b.settled, "a failed call that reported no usage settles at 0")
	paid.set(nil)
	_, err = r.Chat(context.Background(), router.Call{}, providers.ChatRequest{}, nil)
	require.NoError(t, err)
	require.Equal(t, int64(8), b.settled[1], "settled with the real cost: 10 in + 10 out")
}

func TestBudgetHookAndContextWindow(t *testing.T) {
	paid := &counting{}
	r := build(t, router.Config{Budget: denyPaid{}, Tiers: allTiers([]router.ChatCandidate{{Provider: "openai", Model: "gpt-4o-mini", Client: paid}, localCand})})
	res, err := r.Chat(context.Background(), router.Call{}, providers.ChatRequest{}, nil)
	require.NoError(t, err)
	require.Equal(t, local.Name, res.Provider, "paid models leave the list; free ones stay")
	require.Contains(t, strings.Join(res.Reasons, "|"), "monthly budget spent")
	require.Zero(t, paid.n())

	// Nothing free to fall back to: a typed error (the API answers 402).
	r = build(t, router.Config{Budget: denyPaid{}, Tiers: allTiers([]router.ChatCandidate{{Provider: "openai", Model: "gpt-4o-mini", Client: paid}})})
	_, err = r.Chat(context.Background(), router.Call{}, providers.ChatRequest{}, nil)
	require.ErrorIs(t, err, router.ErrBudget)

	small := &counting{}
	r = build(t, router.Config{Tiers: allTiers([]router.ChatCandidate{{Provider: "cloudflare", Model: "@cf/meta/llama-3.2-3b-instruct", Client: small}, localCand})})
	big := providers.ChatRequest{Messages: []providers.Message{{Role: "user", Content: strings.Repeat("word ", 40000)}}}
	res, err = r.Chat(context.Background(), router.Call{Tier: "small"}, big, nil)
	require.NoError(t, err)
	require.Equal(t, local.Name, res.Provider)
	require.Contains(t, strings.Join(res.Reasons, "|"), "context window 8192")
}

func TestCloudflareFreeNeurons(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	cf := &counting{}
	l := &memLedger{}
	free := catalog.NewFreeAllocation(10000)
	r := build(t, router.Config{Now: clk.Now, Free: free, Ledger: l,
		Tiers: allTiers([]router.ChatCandidate{{Provider: "cloudflare", Model: "@cf/meta/llama-3.3-70b-instruct-fp8-fast", Client: cf}})})
	free.Consume(clk.Now(), 10000-1)
	res, err := r.Chat(context.Background(), router.Call{}, providers.ChatRequest{}, nil)
	require.NoError(t, err)
	// 10 in × 26,668/M + 10 out × 204,805/M = 2.3147 neurons; 1 was free.
	require.Equal(t, int64(14), res.CostMicros, "1.3147 billable neurons × 11 µ$")
	require.Equal(t, int64(14), l.entries[0].CostMicros)
}

func TestProbeAndProviders(t *testing.T) {
	r := build(t, router.Config{Tiers: allTiers([]router.ChatCandidate{localCand}),
		Pingers: map[string]router.Pinger{"openai": pingErr{errors.New("connection refused")}}})
	r.Probe(context.Background(), time.Second)
	require.Equal(t, []string{"local"}, r.Providers())
	require.NoError(t, r.CheckProvider("local"))
	require.ErrorIs(t, r.CheckProvider("anthropic"), router.ErrUnknownProvider)
}

type pingErr struct{ err error }

func (p pingErr) Ping(context.Context) error { return p.err }

func TestCancelledCallerDoesNotTripTheBreaker(t *testing.T) {
	slow := &counting{err: context.Canceled}
	r := build(t, router.Config{Breaker: router.BreakerOptions{Failures: 1},
		Tiers: allTiers([]router.ChatCandidate{{Provider: "openai", Model: "gpt-4o-mini", Client: slow}, localCand})})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := r.Chat(ctx, router.Call{}, providers.ChatRequest{}, nil)
	require.Error(t, err)
	slow.set(nil)
	res, err := r.Chat(context.Background(), router.Call{Service: storage.ServiceChat}, providers.ChatRequest{}, nil)
	require.NoError(t, err)
	require.Equal(t, "openai", res.Provider)
}

// TestRefusedConnectionOpensTheBreakerAtOnce: when nothing listens (a
// local model server stopped, a provider's host down) one refused
// connection opens the breaker; another try could not fare better. The
// real OpenAI client against a closed port, so the refusal is the one a
// real call sees.
func TestRefusedConnectionOpensTheBreakerAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there now
	gone := openai.New(openai.Options{Name: "openai", BaseURL: "http://" + addr + "/v1", APIKey: "sk-test"})
	r := build(t, router.Config{Tiers: allTiers([]router.ChatCandidate{{Provider: "openai", Model: "gpt-4o-mini", Client: gone}, localCand})})
	res, err := r.Chat(context.Background(), router.Call{UserID: "u"}, providers.ChatRequest{Messages: []providers.Message{{Role: "user", Content: "hi"}}}, nil)
	require.NoError(t, err, "the next candidate answers")
	require.Equal(t, local.Name, res.Provider)
	h := r.Health()
	require.Equal(t, "openai", h[0].Provider)
	require.Equal(t, router.StateOpen, h[0].Breaker, "open after the first refusal, not the third")
	require.Contains(t, h[0].LastError, "connection refused")
}
