package router_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/providers"
	"github.com/penny-dev/penny/providers/catalog"
	"github.com/penny-dev/penny/providers/local"
	"github.com/penny-dev/penny/providers/router"
	"github.com/penny-dev/penny/storage"
)

type memLedger struct {
	mu      sync.Mutex
	entries []storage.LedgerEntry
	fail    error
}

func (l *memLedger) AppendLedger(_ context.Context, e storage.LedgerEntry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return l.fail
	}
	l.entries = append(l.entries, e)
	return nil
}

// scripted is a chat model that fails with err, or streams "a b" and then
// fails with midErr.
type scripted struct {
	err, midErr error
	calls       int
}

func (s *scripted) Chat(ctx context.Context, req providers.ChatRequest) (providers.ChatResponse, error) {
	s.calls++
	if s.err != nil {
		return providers.ChatResponse{}, s.err
	}
	return providers.ChatResponse{Text: "paid answer", Usage: providers.Usage{InputTokens: 1000, OutputTokens: 1000}}, nil
}

func (s *scripted) ChatStream(ctx context.Context, req providers.ChatRequest, on func(string) error) (providers.ChatResponse, error) {
	if s.midErr != nil {
		s.calls++
		_ = on("a ")
		return providers.ChatResponse{}, s.midErr
	}
	resp, err := s.Chat(ctx, req)
	if err == nil {
		err = on(resp.Text)
	}
	return resp, err
}

func allTiers(c []router.ChatCandidate) map[string][]router.ChatCandidate {
	return map[string][]router.ChatCandidate{"small": c, "medium": c, "large": c}
}

func newRouter(t *testing.T, l *memLedger, chat ...router.ChatCandidate) *router.Router {
	r, err := router.New(router.Config{
		Catalog:   catalog.Default(),
		Tiers:     allTiers(chat),
		Embedders: map[string][]router.EmbedHost{local.EmbedModel: {{Provider: local.Name, Client: local.New()}}},
		Ledger:    l,
	})
	require.NoError(t, err)
	return r
}

var localCand = router.ChatCandidate{Provider: local.Name, Model: local.ChatModel, Client: local.New()}

func TestChatBooksCostAndBaseline(t *testing.T) {
	l := &memLedger{}
	paid := &scripted{}
	r := newRouter(t, l, router.ChatCandidate{Provider: "openai", Model: "gpt-4o", Client: paid}, localCand)
	res, err := r.Chat(context.Background(), router.Call{UserID: "u", Service: storage.ServiceChat, RequestID: "rq"}, providers.ChatRequest{}, nil)
	require.NoError(t, err)
	require.Equal(t, "openai", res.Provider)
	require.Equal(t, int64(12500), res.CostMicros, "1k in × $2.50/M + 1k out × $10/M")
	require.Equal(t, int64(750), res.BaselineMicros, "the small tier's baseline: gpt-4o-mini")
	require.Len(t, l.entries, 1)
	e := l.entries[0]
	require.Equal(t, storage.OutcomeOK, e.Outcome)
	require.Equal(t, "u", e.UserID)
	require.Equal(t, "rq", e.RequestID)
	require.Equal(t, int64(12500), e.CostMicros)
	require.Equal(t, "gpt-4o-mini", e.BaselineModel)
	require.Equal(t, "small", e.Tier, "an empty request is simple")
	require.Equal(t, "cheap", e.Arm)
}

func TestFailoverBooksEveryAttempt(t *testing.T) {
	l := &memLedger{}
	down := &scripted{err: &providers.Error{Provider: "openai", Kind: providers.KindUnavailable, Err: errors.New("503")}}
	r := newRouter(t, l, router.ChatCandidate{Provider: "openai", Model: "gpt-4o", Client: down}, localCand)
	res, err := r.Chat(context.Background(), router.Call{Service: storage.ServiceRAG}, providers.ChatRequest{}, nil)
	require.NoError(t, err)
	require.Equal(t, local.Name, res.Provider)
	require.Contains(t, res.Reasons[len(res.Reasons)-1], "openai/gpt-4o failed (unavailable)")
	require.Len(t, l.entries, 2)
	require.Equal(t, storage.OutcomeError, l.entries[0].Outcome)
	require.Equal(t, "unavailable", l.entries[0].Error)
	require.Equal(t, storage.OutcomeOK, l.entries[1].Outcome)
}

func TestBadRequestDoesNotFailOver(t *testing.T) {
	l := &memLedger{}
	bad := &scripted{err: &providers.Error{Kind: providers.KindBadRequest, Err: errors.New("400")}}
	r := newRouter(t, l, router.ChatCandidate{Provider: "openai", Model: "gpt-4o", Client: bad}, localCand)
	_, err := r.Chat(context.Background(), router.Call{}, providers.ChatRequest{}, nil)
	require.Error(t, err)
	require.Len(t, l.entries, 1)
}

func TestNoFailoverAfterFirstStreamedToken(t *testing.T) {
	l := &memLedger{}
	cut := &scripted{midErr: &providers.Error{Kind: providers.KindUnavailable, Err: errors.New("stream cut")}}
	r := newRouter(t, l, router.ChatCandidate{Provider: "openai", Model: "gpt-4o", Client: cut}, localCand)
	var got string
	_, err := r.Chat(context.Background(), router.Call{}, providers.ChatRequest{}, func(s string) error { got += s; return nil })
	require.ErrorContains(t, err, "stream cut")
	require.Equal(t, "a ", got, "the local candidate did not append a second answer")
	require.Len(t, l.entries, 1)
}

func TestProviderOverride(t *testing.T) {
	l := &memLedger{}
	paid := &scripted{}
	r := newRouter(t, l, router.ChatCandidate{Provider: "openai", Model: "gpt-4o", Client: paid}, localCand)
	res, err := r.Chat(context.Background(), router.Call{Provider: "local"}, providers.ChatRequest{}, nil)
	require.NoError(t, err)
	require.Equal(t, local.Name, res.Provider)
	require.Zero(t, paid.calls)
	_, err = r.Chat(context.Background(), router.Call{Provider: "anthropic"}, providers.ChatRequest{}, nil)
	require.ErrorIs(t, err, router.ErrUnknownProvider)
}

func TestUnpricedCandidateRefused(t *testing.T) {
	_, err := router.New(router.Config{Catalog: catalog.Default(), Ledger: &memLedger{},
		Tiers: allTiers([]router.ChatCandidate{{Provider: "openai", Model: "gpt-unknown", Client: &scripted{}}})})
	require.ErrorIs(t, err, catalog.ErrUnknownModel)
}

func TestEmbedBooksBaseline(t *testing.T) {
	l := &memLedger{}
	r := newRouter(t, l, localCand)
	res, err := r.Embed(context.Background(), router.Call{Service: storage.ServiceIngest}, local.EmbedModel, []string{"hello world", "x"})
	require.NoError(t, err)
	require.Len(t, res.Vectors, 2)
	require.Zero(t, res.CostMicros)
	require.Len(t, l.entries, 1)
	require.Equal(t, "text-embedding-3-small", l.entries[0].BaselineModel)
	require.Equal(t, "embedding", l.entries[0].Kind)

	_, err = r.Embed(context.Background(), router.Call{}, "other-model", []string{"x"})
	require.ErrorIs(t, err, router.ErrNoCandidate)
}

// A call whose ledger entry cannot be written fails, and the log keeps
// the entry (the provider may have charged for the call).
func TestLedgerFailureFailsTheCall(t *testing.T) {
	var logged bytes.Buffer
	r := build(t, router.Config{Ledger: &memLedger{fail: errors.New("disk full")}, Logger: slog.New(slog.NewJSONHandler(&logged, nil)),
		Tiers: allTiers([]router.ChatCandidate{localCand})})
	_, err := r.Chat(context.Background(), router.Call{UserID: "u1", RequestID: "req-1"}, providers.ChatRequest{Messages: []providers.Message{{Role: "user", Content: "hi"}}}, nil)
	require.ErrorContains(t, err, "disk full")
	var line map[string]any
	require.NoError(t, json.Unmarshal(logged.Bytes(), &line), logged.String())
	require.Equal(t, "ledger entry not written; the call happened", line["msg"])
	require.Equal(t, "req-1", line["request_id"])
	require.Equal(t, "u1", line["user"])
	require.Equal(t, local.Name, line["provider"])
	require.Positive(t, line["tokens_in"])
	require.Contains(t, line, "cost_micros")
}

func TestCheckProvider(t *testing.T) {
	r := newRouter(t, &memLedger{}, localCand)
	require.NoError(t, r.CheckProvider(""))
	require.NoError(t, r.CheckProvider("auto"))
	require.NoError(t, r.CheckProvider("local"))
	require.ErrorIs(t, r.CheckProvider("openai"), router.ErrUnknownProvider)
}

// Listing the providers must not write into the configured tier lists: a
// tier slice with spare capacity was once overwritten by the control arm's
// candidates, a data race between concurrent admin requests (found by the
// browser test under -race).
func TestProvidersLeavesTheConfigAlone(t *testing.T) {
	paid := router.ChatCandidate{Provider: "openai", Model: "gpt-4o-mini", Client: &scripted{}}
	small := make([]router.ChatCandidate, 1, 4) // spare capacity
	small[0] = localCand
	r, err := router.New(router.Config{
		Catalog:   catalog.Default(),
		Tiers:     map[string][]router.ChatCandidate{"small": small, "medium": {localCand}, "large": {localCand}},
		Control:   map[string][]router.ChatCandidate{"small": {paid}, "medium": {paid}, "large": {paid}},
		Embedders: map[string][]router.EmbedHost{local.EmbedModel: {{Provider: local.Name, Client: local.New()}}},
		Ledger:    &memLedger{},
	})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				require.ElementsMatch(t, []string{"local", "openai"}, r.Providers())
			}
		})
	}
	wg.Wait()
	require.Zero(t, small[:2][1].Provider, "the spare slot of the small tier is untouched")
}

// gatedLedger holds the first failed call's entry until open is closed,
// as a ledger waiting for a disk flush would.
type gatedLedger struct {
	memLedger
	gated atomic.Bool
	held  chan struct{}
	open  chan struct{}
}

func (l *gatedLedger) AppendLedger(ctx context.Context, e storage.LedgerEntry) error {
	if e.Outcome == storage.OutcomeError && l.gated.CompareAndSwap(false, true) {
		close(l.held)
		<-l.open
	}
	return l.memLedger.AppendLedger(ctx, e)
}

// A failure opens the breaker before it is booked: a caller arriving while
// the ledger writes does not try the dead provider again.
func TestBreakerHearsFailureBeforeTheLedger(t *testing.T) {
	l := &gatedLedger{held: make(chan struct{}), open: make(chan struct{})}
	down := &scripted{err: &providers.Error{Provider: "openai", Kind: providers.KindUnavailable, Err: errors.New("connection refused")}}
	r, err := router.New(router.Config{
		Catalog: catalog.Default(),
		Tiers:   allTiers([]router.ChatCandidate{{Provider: "openai", Model: "gpt-4o", Client: down}, localCand}),
		Ledger:  l,
		Breaker: router.BreakerOptions{Failures: 1},
	})
	require.NoError(t, err)
	first := make(chan error)
	go func() {
		_, err := r.Chat(context.Background(), router.Call{}, providers.ChatRequest{}, nil)
		first <- err
	}()
	<-l.held // the first call failed and is being booked

	res, err := r.Chat(context.Background(), router.Call{}, providers.ChatRequest{}, nil)
	close(l.open)
	require.NoError(t, <-first)
	require.NoError(t, err)
	require.Equal(t, local.Name, res.Provider)
	require.Equal(t, 1, down.calls, "one doomed call, not two")
	require.Contains(t, strings.Join(res.Reasons, "\n"), "skip openai/gpt-4o: breaker open")
}

// perCall answers each call with the next of its scripted functions.
type perCall struct {
	mu    sync.Mutex
	calls []func() error
	made  int
}

func (p *perCall) Chat(ctx context.Context, req providers.ChatRequest) (providers.ChatResponse, error) {
	p.mu.Lock()
	fn := p.calls[min(p.made, len(p.calls)-1)]
	p.made++
	p.mu.Unlock()
	if err := fn(); err != nil {
		return providers.ChatResponse{}, err
	}
	return providers.ChatResponse{Text: "ok", Usage: providers.Usage{InputTokens: 1, OutputTokens: 1}}, nil
}

// An answer that arrives after the breaker opened came from a call made
// before the outage: it does not close the breaker again.
func TestLateSuccessDoesNotCloseTheBreaker(t *testing.T) {
	started, finish := make(chan struct{}), make(chan struct{})
	refused := func() error {
		return &providers.Error{Provider: "openai", Kind: providers.KindUnavailable, Err: errors.New("connection refused")}
	}
	slowOK := func() error {
		close(started)
		<-finish
		return nil
	}
	flaky := &perCall{calls: []func() error{slowOK, refused, refused}}
	r, err := router.New(router.Config{
		Catalog: catalog.Default(),
		Tiers:   allTiers([]router.ChatCandidate{{Provider: "openai", Model: "gpt-4o", Client: flaky}, localCand}),
		Ledger:  &memLedger{},
		Breaker: router.BreakerOptions{Failures: 1},
	})
	require.NoError(t, err)
	chat := func() router.Result {
		res, err := r.Chat(context.Background(), router.Call{}, providers.ChatRequest{}, nil)
		require.NoError(t, err)
		return res
	}
	slow := make(chan router.Result)
	go func() { slow <- chat() }()
	<-started
	require.Equal(t, local.Name, chat().Provider, "refused, then the next candidate; the breaker opens")
	close(finish)
	require.Equal(t, "openai", (<-slow).Provider)
	require.Equal(t, local.Name, chat().Provider)
	require.Equal(t, 2, flaky.made, "the breaker stayed open: no third call")
}
