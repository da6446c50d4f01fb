// Package router sends every model call to the cheapest model that can
// serve it and books it. For a chat call it picks the tier (from the
// complexity analyzer, or fixed by the caller), takes that tier's
// candidates (cheapest first), removes the ones that cannot serve now —
// breaker open, provider asked to wait (Retry-After), context window too
// small, budget spent — and tries the rest in order, failing over on
// timeouts, connection errors, 429, 5xx and unreadable answers (while
// streaming, only until the first token reached the caller). Every attempt
// leaves exactly one ledger entry with its cost, the OpenAI-only baseline,
// the tier, the A/B arm and the reasons for the choice (design.md rule 2).
//
// Embeddings go to exactly the model an index is bound to, failing over
// only to another host of that model (design.md rule 1).
package router

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/penny-dev/penny/providers"
	"github.com/penny-dev/penny/providers/catalog"
	"github.com/penny-dev/penny/storage"
	"github.com/penny-dev/penny/storage/cache"
)

// Ledger is where the router books calls.
type Ledger interface {
	AppendLedger(ctx context.Context, e storage.LedgerEntry) error
}

// ChatCandidate is one chat model of one provider.
type ChatCandidate struct {
	Provider string
	Model    string
	Client   providers.ChatModel
}

func (c ChatCandidate) key() string { return c.Provider + "/" + c.Model }

// EmbedHost is one provider hosting an embedding model.
type EmbedHost struct {
	Provider string
	Client   providers.Embedder
}

// Budget decides whether a paid model may be used for a call, holding its
// estimated cost until the real cost is known, so that concurrent calls
// cannot overshoot a budget by more than one reservation. A nil Budget
// allows everything; free models never ask.
type Budget interface {
	// Reserve holds estimateMicros against every budget that applies to
	// call and returns the function to call exactly once with the real
	// cost, or an error whose text says which budget is spent.
	Reserve(ctx context.Context, call Call, m catalog.Model, estimateMicros int64) (settle func(actualMicros int64), err error)
}

func noSettle(int64) {}

// Pinger is a provider that can be checked cheaply (listing models).
type Pinger interface {
	Ping(ctx context.Context) error
}

// Settings are the routing switches an admin may change at runtime.
type Settings struct {
	// ForceProvider sends every chat call to this provider (the rollback
	// switch); "" routes normally.
	ForceProvider string `json:"forceProvider"`
	// CheapPercent is the share (0–100) of users whose "auto" traffic goes
	// to the cheap arm; the others get the control arm (the OpenAI-only
	// reference), when one is configured. Sticky per user.
	CheapPercent int `json:"cheapPercent"`
	// ShadowPercent is the share (0–100) of control-arm calls that are
	// also sent, in the background, to the cheap arm's candidates. The
	// shadow answer is never returned; it is booked with arm "shadow" (and
	// scored, for document answers) so that the quality and cost reports
	// compare the arms before any user is moved. Default 0.
	ShadowPercent int `json:"shadowPercent"`
}

// ArmShadow marks the ledger entries of shadow calls.
const ArmShadow = "shadow"

// maxShadows caps the shadow calls in flight; more are skipped, never
// queued, so that shadows cannot pile up behind a slow provider.
const maxShadows = 8

// Config wires a Router.
type Config struct {
	Catalog *catalog.Catalog
	// Tiers holds the candidate order per tier, cheapest first.
	Tiers map[string][]ChatCandidate
	// Control holds the control arm's candidates per tier (optional).
	Control map[string][]ChatCandidate
	// Embedders lists, per embedding model id, the hosts that serve that
	// exact model.
	Embedders map[string][]EmbedHost
	// Pingers are probed by Probe, by provider name.
	Pingers map[string]Pinger
	Ledger  Ledger
	Budget  Budget
	// Free tracks Cloudflare's daily free neurons (nil: none).
	Free *catalog.FreeAllocation
	// Cache, when set, answers repeated embeddings (by model and content)
	// and repeated generations (by user, routing and prompt).
	Cache   cache.Cache
	Breaker BreakerOptions
	// BreakerOpened, if set, hears when a breaker opens (key
	// "provider/model", open until): scale-out mode tells the other
	// replicas, which call HoldOpen.
	BreakerOpened func(key string, until time.Time)
	// Redact, if set, cleans provider error messages shown in Health (a
	// provider may echo the key it refused).
	Redact func(string) string
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Router chooses models and books calls. Safe for concurrent use.
type Router struct {
	cfg      Config
	settings atomic.Pointer[Settings]
	shadowMu sync.Mutex // guards closed against shadows.Add after Close
	closed   bool
	shadows  sync.WaitGroup
	shadowN  atomic.Int32 // shadow calls in flight
	mu       sync.Mutex
	breakers map[string]*breaker
	stats    map[string]*stats
	holds    map[string]time.Time // provider → do not call before
	probes   map[string]probeResult
}

type probeResult struct {
	at  time.Time
	err error
}

// Errors of routing itself (not of a provider).
var (
	// ErrNoCandidate means no configured model can serve the request now.
	ErrNoCandidate = errors.New("router: no configured model can serve this request")
	// ErrUnknownProvider means a request named a provider that is not configured.
	ErrUnknownProvider = errors.New("router: provider is not configured")
	// ErrUnknownModel means a request named a model that no provider serves.
	ErrUnknownModel = errors.New("router: model is not configured")
	// ErrBudget means every model that could serve was paid and a budget
	// is spent (nothing free could take the call).
	ErrBudget = errors.New("router: budget spent and no free model can serve this request")
	// ErrLedger wraps a failure to write a call's ledger entry: the
	// store's error (a full disk, say), not the provider's.
	ErrLedger = errors.New("router: book ledger entry")
)

// New checks that every candidate has a catalog entry (an unpriced model
// is refused at start, never booked as $0) and returns the router.
func New(cfg Config) (*Router, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Breaker.Failures == 0 {
		cfg.Breaker.Failures = 3
	}
	if cfg.Breaker.Cooldown == 0 {
		cfg.Breaker.Cooldown = 30 * time.Second
	}
	if cfg.Breaker.MaxCooldown == 0 {
		cfg.Breaker.MaxCooldown = 5 * time.Minute
	}
	for _, lists := range []map[string][]ChatCandidate{cfg.Tiers, cfg.Control} {
		for _, list := range lists {
			for _, c := range list {
				m, err := cfg.Catalog.Lookup(c.Provider, c.Model)
				if err != nil {
					return nil, fmt.Errorf("router: chat candidate: %w", err)
				}
				if m.Kind != "chat" {
					return nil, fmt.Errorf("router: %s is not a chat model", c.key())
				}
			}
		}
	}
	for model, hosts := range cfg.Embedders {
		for _, h := range hosts {
			m, err := cfg.Catalog.Lookup(h.Provider, model)
			if err != nil {
				return nil, fmt.Errorf("router: embedder: %w", err)
			}
			if m.Kind != "embedding" {
				return nil, fmt.Errorf("router: %s/%s is not an embedding model", h.Provider, model)
			}
		}
	}
	r := &Router{cfg: cfg, breakers: map[string]*breaker{}, stats: map[string]*stats{}, holds: map[string]time.Time{}, probes: map[string]probeResult{}}
	r.settings.Store(&Settings{CheapPercent: 100})
	return r, nil
}

// SetSettings changes the routing switches; effective for the next call.
func (r *Router) SetSettings(s Settings) { r.settings.Store(&s) }

// CurrentSettings returns the switches in force.
func (r *Router) CurrentSettings() Settings { return *r.settings.Load() }

// Call says who a model call is for and what it is for.
type Call struct {
	UserID    string
	Service   string
	RequestID string
	// Provider restricts the call to one provider; "" or "auto" lets the
	// router choose.
	Provider string
	// Model pins one model ("model" or "provider/model"); Tier fixes the tier.
	Model string
	Tier  string
	// APIKeyID is set for calls made with an API key (ledger, key budgets);
	// KeyBudgetMicros is that key's monthly budget (0: none).
	APIKeyID        string
	KeyBudgetMicros int64
	// NoCache skips the caches for this call (reads and writes).
	NoCache bool
	// Collection names the document collection the call answers from.
	Collection string
	// OnFirstToken, if set, is called once when the first piece of a
	// streamed answer is about to reach the caller, with the candidate that
	// produced it (so a gateway can name the provider in its headers).
	OnFirstToken func(provider, model string)
	// Judge, if set, scores an answer's groundedness (0–1); the score is
	// booked on the ledger entry of every answer, the shadow answers no
	// caller sees included.
	Judge func(answer string) float64
}

// Result is a finished model call as the router booked it.
type Result struct {
	Text string
	// ToolCalls is set when the model asked to call tools (OpenAI JSON).
	ToolCalls      json.RawMessage
	Usage          providers.Usage
	Provider       string
	Model          string
	Tier           string
	Arm            string
	CostMicros     int64
	BaselineMicros int64
	LatencyMs      int64
	Reasons        []string
	// Cache is "exact" when the answer came from the generation cache.
	Cache string
	// Groundedness is the Judge's score of the answer (nil without one).
	Groundedness *float64
}

// EmbedResult is a finished embedding call.
type EmbedResult struct {
	Vectors        [][]float32
	Usage          providers.Usage
	Provider       string
	Model          string
	CostMicros     int64
	BaselineMicros int64
}

// failed records a failure on key's breaker and tells BreakerOpened when
// it opened.
func (r *Router) failed(key string, br *breaker, p pass, retryAfter time.Duration, down bool) {
	if until := br.failure(r.cfg.Now(), retryAfter, down, p); !until.IsZero() && r.cfg.BreakerOpened != nil {
		r.cfg.BreakerOpened(key, until)
	}
}

func (r *Router) redact(s string) string {
	if r.cfg.Redact == nil {
		return s
	}
	return r.cfg.Redact(s)
}

// HoldOpen opens key's breaker until then: another replica saw the
// provider fail, so this one skips it too instead of failing on its own.
func (r *Router) HoldOpen(key string, until time.Time) {
	r.breaker(key).holdOpen(until)
}

func (r *Router) breaker(key string) *breaker {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.breakers[key]
	if !ok {
		b = newBreaker(r.cfg.Breaker)
		r.breakers[key] = b
	}
	return b
}

func (r *Router) statsOf(key string) *stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.stats[key]
	if !ok {
		s = &stats{}
		r.stats[key] = s
	}
	return s
}

func (r *Router) heldUntil(provider string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.holds[provider]
}

// hold makes the router skip a provider until the time it asked for.
func (r *Router) hold(provider string, until time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if until.After(r.holds[provider]) {
		r.holds[provider] = until
	}
}

// plan is the candidate list of one chat call and why.
type plan struct {
	tier, arm string
	cands     []ChatCandidate
	reasons   []string
}

// allCandidates lists every configured chat candidate once.
func (r *Router) allCandidates() []ChatCandidate {
	seen := map[string]bool{}
	var out []ChatCandidate
	for _, tier := range catalog.Tiers {
		for _, c := range slices.Concat(r.cfg.Tiers[tier], r.cfg.Control[tier]) {
			if !seen[c.key()] {
				seen[c.key()] = true
				out = append(out, c)
			}
		}
	}
	return out
}

// plan picks the tier, the arm and the ordered candidates of a call.
func (r *Router) plan(call Call, req providers.ChatRequest) (plan, error) {
	var p plan
	switch {
	case call.Tier != "":
		p.tier = call.Tier
		p.reasons = append(p.reasons, "tier "+call.Tier+" requested")
	default:
		p.tier, p.reasons = Classify(req)
	}
	p.arm = "cheap"
	if call.Model != "" {
		for _, c := range r.allCandidates() {
			if c.Model == call.Model || c.key() == call.Model {
				p.cands = append(p.cands, c)
			}
		}
		if len(p.cands) == 0 {
			return p, fmt.Errorf("%w: %q", ErrUnknownModel, call.Model)
		}
		m, _ := r.cfg.Catalog.Lookup(p.cands[0].Provider, p.cands[0].Model)
		p.tier = m.Tier
		p.reasons = []string{"model requested: " + call.Model, "candidates: " + names(p.cands)}
		return p, nil
	}
	p.cands = r.cfg.Tiers[p.tier]
	set := r.CurrentSettings()
	if set.CheapPercent < 100 && len(r.cfg.Control[p.tier]) > 0 && call.UserID != "" && bucket(call.UserID) >= set.CheapPercent {
		p.arm, p.cands = "control", r.cfg.Control[p.tier]
		p.reasons = append(p.reasons, fmt.Sprintf("traffic split: this user is in the control arm (%d%% cheap)", set.CheapPercent))
	}
	provider := call.Provider
	if provider == "auto" {
		provider = ""
	}
	if set.ForceProvider != "" {
		provider = set.ForceProvider
		p.reasons = append(p.reasons, "rollback switch: every call forced to "+provider)
	} else if provider != "" {
		p.reasons = append(p.reasons, "provider requested: "+provider)
	}
	if provider != "" {
		// The provider's models of this tier first, then its others.
		var own, other []ChatCandidate
		for _, c := range r.allCandidates() {
			if c.Provider != provider {
				continue
			}
			if m, _ := r.cfg.Catalog.Lookup(c.Provider, c.Model); m.Tier == p.tier {
				own = append(own, c)
			} else {
				other = append(other, c)
			}
		}
		p.cands = append(own, other...)
		if len(p.cands) == 0 {
			return p, fmt.Errorf("%w: %q", ErrUnknownProvider, provider)
		}
	}
	if len(p.cands) == 0 {
		return p, ErrNoCandidate
	}
	p.reasons = append(p.reasons, "candidates: "+names(p.cands))
	return p, nil
}

func names(cands []ChatCandidate) string {
	keys := make([]string, len(cands))
	for i, c := range cands {
		keys[i] = c.key()
	}
	return strings.Join(keys, " → ")
}

// bucket puts a user in 0–99, stably.
func bucket(userID string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(userID))
	return int(h.Sum32() % 100)
}

// CheckProvider reports whether a request may name this provider: "" and
// "auto" always, otherwise a provider with a configured chat model.
// Callers check before spending anything on the request.
func (r *Router) CheckProvider(provider string) error {
	if provider == "" || provider == "auto" {
		return nil
	}
	for _, c := range r.allCandidates() {
		if c.Provider == provider {
			return nil
		}
	}
	return fmt.Errorf("%w: %q", ErrUnknownProvider, provider)
}

// usable says whether a candidate can take this call now, and if not why.
func (r *Router) usable(_ context.Context, _ Call, c ChatCandidate, need int, now time.Time) (bool, string) {
	m, _ := r.cfg.Catalog.Lookup(c.Provider, c.Model)
	if until := r.heldUntil(c.Provider); now.Before(until) {
		return false, fmt.Sprintf("skip %s: provider asked to wait until %s", c.key(), until.UTC().Format(time.RFC3339))
	}
	if need > 0 && m.ContextWindow > 0 && need > m.ContextWindow {
		return false, fmt.Sprintf("skip %s: needs ~%d tokens, context window %d", c.key(), need, m.ContextWindow)
	}
	return true, ""
}

// reserve holds a paid model's estimated cost on the budgets.
func (r *Router) reserve(ctx context.Context, call Call, m catalog.Model, u providers.Usage) (func(int64), error) {
	if r.cfg.Budget == nil || m.Free {
		return noSettle, nil
	}
	return r.cfg.Budget.Reserve(ctx, call, m, m.Cost(u))
}

// Chat generates an answer. With onDelta it streams: failover to the next
// candidate is allowed only until the first piece of text was delivered;
// after that a failure ends the call with the error.
func (r *Router) Chat(ctx context.Context, call Call, req providers.ChatRequest, onDelta func(string) error) (Result, error) {
	p, err := r.plan(call, req)
	if err != nil {
		return Result{}, err
	}
	key := r.generationKey(call, req)
	if res, ok := r.cachedGeneration(ctx, call, key, onDelta); ok {
		return res, nil
	}
	res, err := r.chat(ctx, call, req, p, onDelta)
	if err == nil && key != "" {
		if raw, err := json.Marshal(res); err == nil {
			r.cfg.Cache.Set(ctx, cache.Generations, key, raw)
		}
	}
	if err == nil && p.arm == "control" && !req.HasTools() {
		r.maybeShadow(ctx, call, req, p)
	}
	return res, err
}

// maybeShadow sends a sampled control-arm call to the cheap arm in the
// background (Settings.ShadowPercent). It is booked, scored and thrown
// away; its cost is real and counts against budgets, but it replaced
// nothing, so it carries no baseline.
func (r *Router) maybeShadow(ctx context.Context, call Call, req providers.ChatRequest, p plan) {
	set := r.CurrentSettings()
	pct := set.ShadowPercent
	if pct <= 0 || set.ForceProvider != "" || rand.IntN(100) >= pct || len(r.cfg.Tiers[p.tier]) == 0 {
		return // the rollback switch stops shadows too
	}
	if r.shadowN.Add(1) > maxShadows {
		r.shadowN.Add(-1)
		return
	}
	r.shadowMu.Lock()
	if r.closed {
		r.shadowMu.Unlock()
		r.shadowN.Add(-1)
		return
	}
	r.shadows.Add(1)
	r.shadowMu.Unlock()
	shadow := plan{tier: p.tier, arm: ArmShadow, cands: r.cfg.Tiers[p.tier],
		reasons: []string{"shadow of a control-arm call (" + strconv.Itoa(pct) + "% shadowed)", "candidates: " + names(r.cfg.Tiers[p.tier])}}
	call.OnFirstToken, call.NoCache = nil, true
	go func() {
		defer r.shadows.Done()
		defer r.shadowN.Add(-1)
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shadowTimeout)
		defer cancel()
		if _, err := r.chat(sctx, call, req, shadow, nil); err != nil {
			r.cfg.Logger.Debug("shadow call failed", slog.Any("error", err))
		}
	}()
}

// shadowTimeout bounds one shadow call.
const shadowTimeout = 2 * time.Minute

// Close waits for the shadow calls in flight; later calls start none.
func (r *Router) Close() {
	r.shadowMu.Lock()
	r.closed = true
	r.shadowMu.Unlock()
	r.shadows.Wait()
}

// generationKey is the cache key of a chat call: per user (a cached answer
// never crosses users), the routing asked for and in force, and the prompt
// with whitespace normalised. "" means do not cache.
func (r *Router) generationKey(call Call, req providers.ChatRequest) string {
	if r.cfg.Cache == nil || call.NoCache || call.UserID == "" {
		return ""
	}
	msgs := make([]providers.Message, len(req.Messages))
	for i, m := range req.Messages {
		m.Content = strings.Join(strings.Fields(m.Content), " ")
		msgs[i] = m
	}
	raw, _ := json.Marshal(msgs)
	set := r.CurrentSettings()
	return cache.Key("generation", call.UserID, call.Model, call.Tier, call.Provider, set.ForceProvider, fmt.Sprint(set.CheapPercent),
		string(raw), string(req.Tools), string(req.ToolChoice), fmt.Sprint(req.MaxTokens))
}

// cachedGeneration serves a cached answer and books the hit.
func (r *Router) cachedGeneration(ctx context.Context, call Call, key string, onDelta func(string) error) (Result, bool) {
	if key == "" {
		return Result{}, false
	}
	raw, ok := r.cfg.Cache.Get(ctx, cache.Generations, key)
	if !ok {
		return Result{}, false
	}
	var res Result
	if json.Unmarshal(raw, &res) != nil {
		return Result{}, false
	}
	avoided := res.CostMicros
	res.CostMicros, res.LatencyMs, res.Cache = 0, 0, "exact"
	res.Reasons = []string{"answered from the generation cache (" + res.Provider + "/" + res.Model + ")"}
	if err := r.bookHit(ctx, call, "chat", "generation", res, avoided); err != nil {
		return Result{}, false
	}
	if onDelta != nil {
		if call.OnFirstToken != nil {
			call.OnFirstToken(res.Provider, res.Model)
		}
		if err := onDelta(res.Text); err != nil {
			return Result{}, false
		}
	}
	return res, true
}

// BookHit books a cache hit made outside the router (the RAG answer
// caches): res names the provider, model, usage and baseline of the
// answer it replaced, avoided its cost.
func (r *Router) BookHit(ctx context.Context, call Call, class string, res Result, avoided int64) error {
	return r.bookHit(ctx, call, "chat", class, res, avoided)
}

// bookHit writes the ledger entry of a cache hit: no cost, the cost it
// avoided, and the baseline the same tokens would have cost.
func (r *Router) bookHit(ctx context.Context, call Call, kind, class string, res Result, avoided int64) error {
	e := storage.LedgerEntry{ID: storage.NewID(), Time: r.cfg.Now().UTC(), UserID: call.UserID, Service: call.Service, Kind: kind,
		Provider: res.Provider, Model: res.Model, Tier: res.Tier, Arm: res.Arm, TokensIn: res.Usage.InputTokens, TokensOut: res.Usage.OutputTokens,
		BaselineMicros: res.BaselineMicros, Outcome: storage.OutcomeOK, CacheHit: true, CacheClass: class, AvoidedMicros: avoided,
		Reasons: res.Reasons, RequestID: call.RequestID, APIKeyID: call.APIKeyID, Collection: call.Collection}
	return r.cfg.Ledger.AppendLedger(context.WithoutCancel(ctx), e)
}

// chat runs the plan: the candidates in order, with failover.
func (r *Router) chat(ctx context.Context, call Call, req providers.ChatRequest, p plan, onDelta func(string) error) (Result, error) {
	outTokens := req.MaxTokens
	if outTokens == 0 {
		outTokens = 1024
	}
	need := outTokens + providers.EstimateTokens(string(req.Tools))
	for _, m := range req.Messages {
		need += providers.EstimateTokens(m.Content)
	}
	reasons := p.reasons
	var lastErr error
	budgetSkips := 0
	for _, c := range p.cands {
		now := r.cfg.Now()
		if req.HasTools() {
			if tc, ok := c.Client.(providers.ToolCaller); !ok || !tc.SupportsTools() {
				reasons = append(reasons, "skip "+c.key()+": does not take tools")
				continue
			}
		}
		if ok, why := r.usable(ctx, call, c, need, now); !ok {
			reasons = append(reasons, why)
			continue
		}
		br := r.breaker(c.key())
		ticket, ok, until := br.allow(now)
		if !ok {
			reasons = append(reasons, fmt.Sprintf("skip %s: breaker open until %s", c.key(), until.UTC().Format(time.RFC3339)))
			continue
		}
		m, _ := r.cfg.Catalog.Lookup(c.Provider, c.Model)
		settle, err := r.reserve(ctx, call, m, providers.Usage{InputTokens: need - outTokens, OutputTokens: outTokens})
		if err != nil {
			br.release(ticket)
			reasons = append(reasons, fmt.Sprintf("skip %s: %v", c.key(), err))
			budgetSkips++
			continue
		}
		res, baselineModel, sent, err := r.attempt(ctx, call, c, p, req, reasons, onDelta)
		settle(res.CostMicros)
		failover := r.observe(ctx, c.key(), c.Provider, br, ticket, err)
		if bookErr := r.book(ctx, call, "chat", res, baselineModel, err); bookErr != nil {
			return Result{}, bookErr
		}
		if err == nil {
			return res, nil
		}
		lastErr = err
		if !failover {
			return Result{}, err
		}
		kind := providers.KindOf(err)
		reasons = append(reasons, fmt.Sprintf("%s failed (%s)", c.key(), kind))
		if sent {
			return Result{}, err
		}
		r.cfg.Logger.Warn("model call failed, trying the next candidate", slog.String("provider", c.Provider),
			slog.String("model", c.Model), slog.String("kind", string(kind)), slog.Any("error", err))
	}
	if lastErr == nil && budgetSkips > 0 {
		return Result{}, fmt.Errorf("%w (%s)", ErrBudget, strings.Join(reasons, "; "))
	}
	if lastErr == nil {
		return Result{}, fmt.Errorf("%w (%s)", ErrNoCandidate, strings.Join(reasons, "; "))
	}
	return Result{}, fmt.Errorf("router: every candidate failed: %w", lastErr)
}

// observe tells key's breaker how a call went, before the call is booked:
// a ledger write can take a disk flush, and every caller in the meantime
// must already see an outage. It reports whether err lets the caller try
// the next candidate; an error that says nothing about the provider (the
// caller left, a request no provider would take) leaves the breaker as it
// was.
func (r *Router) observe(ctx context.Context, key, provider string, br *breaker, p pass, err error) (failover bool) {
	if err == nil {
		br.success(p)
		return false
	}
	var pe *providers.Error
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || (errors.As(err, &pe) && !pe.Failover()) {
		br.release(p)
		return false
	}
	var retryAfter time.Duration
	if pe != nil {
		retryAfter = pe.RetryAfter
	}
	r.failed(key, br, p, retryAfter, errors.Is(err, syscall.ECONNREFUSED))
	if retryAfter > 0 && (pe.Kind == providers.KindRateLimited || pe.Kind == providers.KindQuota) {
		r.hold(provider, r.cfg.Now().Add(retryAfter))
	}
	return true
}

// attempt makes one call to one candidate; the caller books it.
func (r *Router) attempt(ctx context.Context, call Call, c ChatCandidate, p plan, req providers.ChatRequest, reasons []string, onDelta func(string) error) (res Result, baselineModel string, sent bool, err error) {
	req.Model = c.Model
	start := r.cfg.Now()
	var resp providers.ChatResponse
	if s, ok := c.Client.(providers.Streamer); ok && onDelta != nil {
		resp, err = s.ChatStream(ctx, req, func(d string) error {
			if !sent && call.OnFirstToken != nil {
				call.OnFirstToken(c.Provider, c.Model)
			}
			sent = true
			return onDelta(d)
		})
	} else {
		resp, err = c.Client.Chat(ctx, req)
		if err == nil && onDelta != nil {
			if call.OnFirstToken != nil {
				call.OnFirstToken(c.Provider, c.Model)
			}
			sent = true
			err = onDelta(resp.Text)
		}
	}
	latency := r.cfg.Now().Sub(start)
	if !errors.Is(err, context.Canceled) {
		r.statsOf(c.key()).record(r.cfg.Now(), latency, err)
	}
	m, _ := r.cfg.Catalog.Lookup(c.Provider, c.Model)
	res = Result{Text: resp.Text, ToolCalls: resp.ToolCalls, Usage: resp.Usage, Provider: c.Provider, Model: c.Model, Tier: p.tier, Arm: p.arm,
		LatencyMs: latency.Milliseconds(), Reasons: append([]string(nil), reasons...)}
	if err != nil && resp.Usage == (providers.Usage{}) {
		res.Usage = providers.Usage{}
	}
	res.CostMicros = r.cost(m, res.Usage)
	res.BaselineMicros, baselineModel = r.cfg.Catalog.BaselineCost("chat", p.tier, res.Usage)
	if p.arm == ArmShadow {
		res.BaselineMicros, baselineModel = 0, "" // it replaced nothing
	}
	if err == nil && call.Judge != nil {
		g := call.Judge(resp.Text)
		res.Groundedness = &g
	}
	return res, baselineModel, sent, err
}

// cost prices usage, applying Cloudflare's free daily neurons.
func (r *Router) cost(m catalog.Model, u providers.Usage) int64 {
	if m.Free {
		return 0
	}
	if m.PricedInNeurons() && r.cfg.Free != nil {
		return m.NeuronCost(r.cfg.Free.Consume(r.cfg.Now(), m.Neurons(u)))
	}
	return m.Cost(u)
}

// Embed embeds texts with exactly the named model, failing over only to
// other hosts of that model. With a cache, texts already embedded by this
// model are not embedded again; the hits are booked as one cache entry.
func (r *Router) Embed(ctx context.Context, call Call, model string, texts []string) (EmbedResult, error) {
	if r.cfg.Cache == nil || call.NoCache || len(texts) == 0 {
		return r.embed(ctx, call, model, texts)
	}
	keys := make([]string, len(texts))
	vecs := make([][]float32, len(texts))
	var missing []int
	var hitUsage providers.Usage
	for i, t := range texts {
		keys[i] = cache.Key("embedding", model, t)
		if raw, ok := r.cfg.Cache.Get(ctx, cache.Embeddings, keys[i]); ok && len(raw)%4 == 0 {
			vecs[i] = decodeVector(raw)
			hitUsage.InputTokens += providers.EstimateTokens(t)
			continue
		}
		missing = append(missing, i)
	}
	out := EmbedResult{Model: model, Vectors: vecs}
	if len(missing) < len(texts) {
		res := Result{Provider: "cache", Model: model, Usage: hitUsage, Reasons: []string{"embeddings from the cache"}}
		res.BaselineMicros, _ = r.cfg.Catalog.BaselineCost("embedding", "", hitUsage)
		var avoided int64
		if hosts := r.cfg.Embedders[model]; len(hosts) > 0 {
			m, _ := r.cfg.Catalog.Lookup(hosts[0].Provider, model)
			avoided = m.Cost(hitUsage)
		}
		if err := r.bookHit(ctx, call, "embedding", "embedding", res, avoided); err != nil {
			return EmbedResult{}, err
		}
		out.Provider, out.BaselineMicros = "cache", res.BaselineMicros
	}
	if len(missing) == 0 {
		return out, nil
	}
	todo := make([]string, len(missing))
	for j, i := range missing {
		todo[j] = texts[i]
	}
	res, err := r.embed(ctx, call, model, todo)
	if err != nil {
		return EmbedResult{}, err
	}
	for j, i := range missing {
		vecs[i] = res.Vectors[j]
		r.cfg.Cache.Set(ctx, cache.Embeddings, keys[i], encodeVector(res.Vectors[j]))
	}
	out.Provider, out.Usage = res.Provider, res.Usage
	out.CostMicros, out.BaselineMicros = res.CostMicros, out.BaselineMicros+res.BaselineMicros
	return out, nil
}

func encodeVector(v []float32) []byte {
	out := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(f))
	}
	return out
}

func decodeVector(raw []byte) []float32 {
	v := make([]float32, len(raw)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return v
}

// embed calls the hosts of the model in order.
func (r *Router) embed(ctx context.Context, call Call, model string, texts []string) (EmbedResult, error) {
	hosts := r.cfg.Embedders[model]
	if len(hosts) == 0 {
		return EmbedResult{}, fmt.Errorf("%w: embedding model %s", ErrNoCandidate, model)
	}
	var lastErr error
	var reasons []string
	for _, h := range hosts {
		key := h.Provider + "/" + model
		now := r.cfg.Now()
		m, _ := r.cfg.Catalog.Lookup(h.Provider, model)
		if until := r.heldUntil(h.Provider); now.Before(until) {
			reasons = append(reasons, fmt.Sprintf("skip %s: provider asked to wait", key))
			continue
		}
		br := r.breaker(key)
		ticket, ok, _ := br.allow(now)
		if !ok {
			reasons = append(reasons, "skip "+key+": breaker open")
			continue
		}
		est := 0
		for _, t := range texts {
			est += providers.EstimateTokens(t)
		}
		settle, err := r.reserve(ctx, call, m, providers.Usage{InputTokens: est})
		if err != nil {
			br.release(ticket)
			reasons = append(reasons, fmt.Sprintf("skip %s: %v", key, err))
			if lastErr == nil {
				lastErr = fmt.Errorf("%w: %v", ErrBudget, err)
			}
			continue
		}
		lastErr = nil
		resp, err := h.Client.Embed(ctx, providers.EmbedRequest{Model: model, Texts: texts})
		if err == nil && len(resp.Vectors) != len(texts) {
			err = &providers.Error{Provider: h.Provider, Model: model, Kind: providers.KindBadResponse,
				Err: fmt.Errorf("%d vectors for %d texts", len(resp.Vectors), len(texts))}
		}
		latency := r.cfg.Now().Sub(now)
		r.statsOf(key).record(r.cfg.Now(), latency, err)
		if err != nil {
			resp.Usage = providers.Usage{}
		}
		res := Result{Usage: resp.Usage, Provider: h.Provider, Model: model, LatencyMs: latency.Milliseconds(),
			CostMicros: r.cost(m, resp.Usage), Reasons: append(reasons, "embedding model of the index: "+model)}
		settle(res.CostMicros)
		var baselineModel string
		res.BaselineMicros, baselineModel = r.cfg.Catalog.BaselineCost("embedding", "", resp.Usage)
		failover := r.observe(ctx, key, h.Provider, br, ticket, err)
		if bookErr := r.book(ctx, call, "embedding", res, baselineModel, err); bookErr != nil {
			return EmbedResult{}, bookErr
		}
		if err == nil {
			return EmbedResult{Vectors: resp.Vectors, Usage: resp.Usage, Provider: h.Provider, Model: model,
				CostMicros: res.CostMicros, BaselineMicros: res.BaselineMicros}, nil
		}
		lastErr = err
		if !failover {
			return EmbedResult{}, err
		}
		reasons = append(reasons, fmt.Sprintf("%s failed (%s)", key, providers.KindOf(err)))
	}
	if lastErr == nil {
		return EmbedResult{}, fmt.Errorf("%w: every host of %s is unavailable (%s)", ErrNoCandidate, model, strings.Join(reasons, "; "))
	}
	if errors.Is(lastErr, ErrBudget) {
		return EmbedResult{}, lastErr
	}
	return EmbedResult{}, fmt.Errorf("router: every host of %s failed: %w", model, lastErr)
}

// book writes the ledger entry of one attempt. A ledger that cannot be
// written fails the call: an unbooked call would break the cost truth.
func (r *Router) book(ctx context.Context, call Call, kind string, res Result, baselineModel string, callErr error) error {
	e := storage.LedgerEntry{
		ID: storage.NewID(), Time: r.cfg.Now().UTC(), UserID: call.UserID, Service: call.Service, Kind: kind,
		Provider: res.Provider, Model: res.Model, Tier: res.Tier, Arm: res.Arm,
		TokensIn: res.Usage.InputTokens, TokensOut: res.Usage.OutputTokens, CachedTokens: res.Usage.CachedInputTokens,
		CostMicros: res.CostMicros, BaselineMicros: res.BaselineMicros, BaselineModel: baselineModel,
		Estimated: res.Usage.Estimated, LatencyMs: res.LatencyMs, Outcome: storage.OutcomeOK,
		Reasons: res.Reasons, RequestID: call.RequestID, APIKeyID: call.APIKeyID, Collection: call.Collection,
		Groundedness: res.Groundedness,
	}
	if callErr != nil {
		e.Outcome = storage.OutcomeError
		e.Error = string(providers.KindOf(callErr))
	}
	// Book even when the caller went away: the call happened.
	if err := r.cfg.Ledger.AppendLedger(context.WithoutCancel(ctx), e); err != nil {
		// The provider may have charged for it: the log keeps what the
		// ledger could not (a full disk), for the operator to reconcile.
		r.cfg.Logger.Error("ledger entry not written; the call happened", slog.String("request_id", e.RequestID),
			slog.String("user", e.UserID), slog.String("provider", e.Provider), slog.String("model", e.Model),
			slog.Int("tokens_in", e.TokensIn), slog.Int("tokens_out", e.TokensOut), slog.Int64("cost_micros", e.CostMicros),
			slog.String("outcome", e.Outcome), slog.Any("error", err))
		return fmt.Errorf("%w: %w", ErrLedger, err)
	}
	return nil
}

// Health is the state of one provider+model.
type Health struct {
	Provider        string    `json:"provider"`
	Model           string    `json:"model"`
	Kind            string    `json:"kind"`
	Tiers           []string  `json:"tiers,omitempty"`
	Status          string    `json:"status"` // healthy, degraded, down, unknown
	Breaker         string    `json:"breaker"`
	OpenUntil       time.Time `json:"openUntil,omitzero"`
	HeldUntil       time.Time `json:"heldUntil,omitzero"`
	Calls           int64     `json:"calls"`
	ErrorRate       float64   `json:"errorRate"`
	P50Ms           float64   `json:"p50Ms"`
	P95Ms           float64   `json:"p95Ms"`
	LastError       string    `json:"lastError,omitempty"`
	LastErrorAt     time.Time `json:"lastErrorAt,omitzero"`
	LastProbe       time.Time `json:"lastProbe,omitzero"`
	ProbeError      string    `json:"probeError,omitempty"`
	Reachable       *bool     `json:"reachable,omitempty"`
	FreeNeuronsLeft *float64  `json:"freeNeuronsLeft,omitempty"`
}

// Health reports every configured model: breaker state, error rate and
// latency of recent calls, last error, last probe.
func (r *Router) Health() []Health {
	now := r.cfg.Now()
	tiers := map[string][]string{}
	for _, tier := range catalog.Tiers {
		for _, c := range r.cfg.Tiers[tier] {
			tiers[c.key()] = append(tiers[c.key()], tier)
		}
	}
	var out []Health
	add := func(provider, model, kind string) {
		key := provider + "/" + model
		state, until, _ := r.breaker(key).snapshot()
		st := r.statsOf(key)
		errRate, p50, p95 := st.summary()
		st.mu.Lock()
		h := Health{Provider: provider, Model: model, Kind: kind, Tiers: tiers[key], Breaker: state, Calls: st.calls, ErrorRate: errRate,
			P50Ms: float64(p50.Microseconds()) / 1000, P95Ms: float64(p95.Microseconds()) / 1000,
			LastError: r.redact(st.lastErr), LastErrorAt: st.lastErrAt}
		st.mu.Unlock()
		if state == StateOpen {
			h.OpenUntil = until
		}
		if held := r.heldUntil(provider); now.Before(held) {
			h.HeldUntil = held
		}
		r.mu.Lock()
		if pr, ok := r.probes[provider]; ok {
			h.LastProbe = pr.at
			ok := pr.err == nil
			h.Reachable = &ok
			if pr.err != nil {
				h.ProbeError = r.redact(pr.err.Error())
			}
		}
		r.mu.Unlock()
		if provider == "cloudflare" && r.cfg.Free != nil {
			left := r.cfg.Free.Remaining(now)
			h.FreeNeuronsLeft = &left
		}
		switch {
		case state == StateOpen || (h.Reachable != nil && !*h.Reachable):
			h.Status = "down"
		case !h.HeldUntil.IsZero() || state == StateHalfOpen || errRate > 0.2:
			h.Status = "degraded"
		case h.Calls == 0 && h.Reachable == nil:
			h.Status = "unknown"
		default:
			h.Status = "healthy"
		}
		out = append(out, h)
	}
	for _, c := range r.allCandidates() {
		add(c.Provider, c.Model, "chat")
	}
	models := make([]string, 0, len(r.cfg.Embedders))
	for m := range r.cfg.Embedders {
		models = append(models, m)
	}
	sort.Strings(models)
	for _, m := range models {
		for _, h := range r.cfg.Embedders[m] {
			add(h.Provider, m, "embedding")
		}
	}
	return out
}

// Probe checks every provider that can be pinged (listing models costs
// nothing) and records the outcome for Health. timeout bounds each ping.
func (r *Router) Probe(ctx context.Context, timeout time.Duration) {
	for name, p := range r.cfg.Pingers {
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err := p.Ping(pctx)
		cancel()
		r.mu.Lock()
		r.probes[name] = probeResult{at: r.cfg.Now(), err: err}
		r.mu.Unlock()
	}
}

// Providers names the configured providers, for logs.
func (r *Router) Providers() []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range r.allCandidates() {
		if !seen[c.Provider] {
			seen[c.Provider] = true
			out = append(out, c.Provider)
		}
	}
	for _, hosts := range r.cfg.Embedders {
		for _, h := range hosts {
			if !seen[h.Provider] {
				seen[h.Provider] = true
				out = append(out, h.Provider)
			}
		}
	}
	sort.Strings(out)
	return out
}
