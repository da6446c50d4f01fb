// Package router sends every model call to a candidate model, fails over
// to the next one when a provider fails, and books each attempt on the
// ledger with its cost and the OpenAI-only baseline. It is the only way
// the rest of penny reaches a model (design.md rule 2).
//
// This is the first slice of the router: an ordered candidate list per
// kind, provider overrides, failover before the first streamed token, and
// exact ledger entries. Tiers, complexity, health and budgets build on it.
package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/penny-dev/penny/providers"
	"github.com/penny-dev/penny/providers/catalog"
	"github.com/penny-dev/penny/storage"
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

// EmbedHost is one provider hosting an embedding model.
type EmbedHost struct {
	Provider string
	Client   providers.Embedder
}

// Config wires a Router.
type Config struct {
	Catalog *catalog.Catalog
	// Chat is the candidate order, cheapest first.
	Chat []ChatCandidate
	// Embedders lists, per embedding model id, the hosts that serve that
	// exact model; failover stays within one model (one embedding space).
	Embedders map[string][]EmbedHost
	Ledger    Ledger
	Logger    *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Router chooses models and books calls. Safe for concurrent use.
type Router struct {
	cfg Config
}

// Errors of routing itself (not of a provider).
var (
	// ErrNoCandidate means no configured model can serve the request.
	ErrNoCandidate = errors.New("router: no configured model can serve this request")
	// ErrUnknownProvider means a request named a provider that is not configured.
	ErrUnknownProvider = errors.New("router: provider is not configured")
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
	for _, c := range cfg.Chat {
		if _, err := cfg.Catalog.Lookup(c.Provider, c.Model); err != nil {
			return nil, fmt.Errorf("router: chat candidate: %w", err)
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
	return &Router{cfg: cfg}, nil
}

// Call says who a model call is for and what it is for.
type Call struct {
	UserID    string
	Service   string
	RequestID string
	// Provider restricts the call to one provider; "" or "auto" lets the
	// router choose.
	Provider string
}

// Result is a finished model call as the router booked it.
type Result struct {
	Text           string
	Usage          providers.Usage
	Provider       string
	Model          string
	Tier           string
	CostMicros     int64
	BaselineMicros int64
	LatencyMs      int64
	Reasons        []string
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

// Chat generates an answer. With onDelta it streams: failover to the next
// candidate is allowed only until the first piece of text was delivered;
// after that a failure ends the call with the error.
func (r *Router) Chat(ctx context.Context, call Call, req providers.ChatRequest, onDelta func(string) error) (Result, error) {
	cands, reasons, err := r.chatCandidates(call)
	if err != nil {
		return Result{}, err
	}
	var lastErr error
	for _, c := range cands {
		req.Model = c.Model
		sent := false
		start := r.cfg.Now()
		var resp providers.ChatResponse
		var err error
		if s, ok := c.Client.(providers.Streamer); ok && onDelta != nil {
			resp, err = s.ChatStream(ctx, req, func(d string) error {
				sent = true
				return onDelta(d)
			})
		} else {
			resp, err = c.Client.Chat(ctx, req)
			if err == nil && onDelta != nil {
				sent = true
				err = onDelta(resp.Text)
			}
		}
		m, _ := r.cfg.Catalog.Lookup(c.Provider, c.Model)
		res := Result{Text: resp.Text, Usage: resp.Usage, Provider: c.Provider, Model: c.Model, Tier: m.Tier,
			LatencyMs: r.cfg.Now().Sub(start).Milliseconds(), Reasons: reasons}
		res.CostMicros = m.Cost(resp.Usage)
		var baselineModel string
		res.BaselineMicros, baselineModel = r.cfg.Catalog.BaselineCost("chat", m.Tier, resp.Usage)
		if bookErr := r.book(ctx, call, "chat", res, baselineModel, err); bookErr != nil {
			return Result{}, bookErr
		}
		if err == nil {
			return res, nil
		}
		lastErr = err
		reasons = append(reasons, fmt.Sprintf("%s/%s failed (%s)", c.Provider, c.Model, providers.KindOf(err)))
		var pe *providers.Error
		if sent || ctx.Err() != nil || (errors.As(err, &pe) && !pe.Failover()) {
			return Result{}, err
		}
		r.cfg.Logger.Warn("model call failed, trying the next candidate", slog.String("provider", c.Provider),
			slog.String("model", c.Model), slog.Any("error", err))
	}
	return Result{}, fmt.Errorf("router: every candidate failed: %w", lastErr)
}

// CheckProvider reports whether a request may name this provider: "" and
// "auto" always, otherwise a provider with a configured chat model. Callers
// check before spending anything on the request.
func (r *Router) CheckProvider(provider string) error {
	_, _, err := r.chatCandidates(Call{Provider: provider})
	if errors.Is(err, ErrNoCandidate) && (provider == "" || provider == "auto") {
		return nil
	}
	return err
}

func (r *Router) chatCandidates(call Call) ([]ChatCandidate, []string, error) {
	if call.Provider == "" || call.Provider == "auto" {
		if len(r.cfg.Chat) == 0 {
			return nil, nil, ErrNoCandidate
		}
		reason := "cheapest configured candidate first"
		if len(r.cfg.Chat) == 1 {
			reason = "only " + r.cfg.Chat[0].Provider + "/" + r.cfg.Chat[0].Model + " is configured"
		}
		return r.cfg.Chat, []string{reason}, nil
	}
	var out []ChatCandidate
	for _, c := range r.cfg.Chat {
		if c.Provider == call.Provider {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, nil, fmt.Errorf("%w: %q", ErrUnknownProvider, call.Provider)
	}
	return out, []string{"provider requested: " + call.Provider}, nil
}

// Embed embeds texts with exactly the named model, failing over only to
// other hosts of that model.
func (r *Router) Embed(ctx context.Context, call Call, model string, texts []string) (EmbedResult, error) {
	hosts := r.cfg.Embedders[model]
	if len(hosts) == 0 {
		return EmbedResult{}, fmt.Errorf("%w: embedding model %s", ErrNoCandidate, model)
	}
	var lastErr error
	for _, h := range hosts {
		start := r.cfg.Now()
		resp, err := h.Client.Embed(ctx, providers.EmbedRequest{Model: model, Texts: texts})
		if err == nil && len(resp.Vectors) != len(texts) {
			err = &providers.Error{Provider: h.Provider, Model: model, Kind: providers.KindBadResponse,
				Err: fmt.Errorf("%d vectors for %d texts", len(resp.Vectors), len(texts))}
		}
		m, _ := r.cfg.Catalog.Lookup(h.Provider, model)
		res := Result{Usage: resp.Usage, Provider: h.Provider, Model: model, LatencyMs: r.cfg.Now().Sub(start).Milliseconds(),
			CostMicros: m.Cost(resp.Usage)}
		var baselineModel string
		res.BaselineMicros, baselineModel = r.cfg.Catalog.BaselineCost("embedding", "", resp.Usage)
		if bookErr := r.book(ctx, call, "embedding", res, baselineModel, err); bookErr != nil {
			return EmbedResult{}, bookErr
		}
		if err == nil {
			return EmbedResult{Vectors: resp.Vectors, Usage: resp.Usage, Provider: h.Provider, Model: model,
				CostMicros: res.CostMicros, BaselineMicros: res.BaselineMicros}, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			return EmbedResult{}, err
		}
	}
	return EmbedResult{}, fmt.Errorf("router: every host of %s failed: %w", model, lastErr)
}

// book writes the ledger entry of one attempt. A ledger that cannot be
// written fails the call: an unbooked call would break the cost truth.
func (r *Router) book(ctx context.Context, call Call, kind string, res Result, baselineModel string, callErr error) error {
	e := storage.LedgerEntry{
		ID: storage.NewID(), Time: r.cfg.Now().UTC(), UserID: call.UserID, Service: call.Service, Kind: kind,
		Provider: res.Provider, Model: res.Model, Tier: res.Tier,
		TokensIn: res.Usage.InputTokens, TokensOut: res.Usage.OutputTokens,
		CostMicros: res.CostMicros, BaselineMicros: res.BaselineMicros, BaselineModel: baselineModel,
		Estimated: res.Usage.Estimated, LatencyMs: res.LatencyMs, Outcome: storage.OutcomeOK,
		Reasons: res.Reasons, RequestID: call.RequestID,
	}
	if callErr != nil {
		e.Outcome = storage.OutcomeError
		e.Error = string(providers.KindOf(callErr))
	}
	// Book even when the caller went away: the call happened.
	if err := r.cfg.Ledger.AppendLedger(context.WithoutCancel(ctx), e); err != nil {
		return fmt.Errorf("router: book ledger entry: %w", err)
	}
	return nil
}
