// Package gateway is penny's OpenAI-compatible API: any program that
// speaks the OpenAI protocol gets penny's routing, failover and cost
// accounting by changing its base URL and key. This package resolves model
// names ("auto", "auto:<tier>", a catalog id), enforces per-key limits
// (requests per minute; monthly budgets are app/budgets') and lists the
// models; the HTTP shapes live in app/httpapi.
package gateway

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/time/rate"

	"github.com/penny-dev/penny/app/apperr"
	"github.com/penny-dev/penny/providers/catalog"
	"github.com/penny-dev/penny/providers/router"
)

// Service is the gateway capability. Safe for concurrent use.
type Service struct {
	catalog    *catalog.Catalog
	chatModels []catalog.Model
	embeds     []catalog.Model
	embedModel string
	defaultRPM int
	limiter    RateLimiter
}

// RateLimiter takes one request from a key's allowance of rpm requests a
// minute (bursts up to rpm); a refusal says how long to wait. In memory
// for one process; in Redis (one allowance across replicas) in scale-out.
type RateLimiter interface {
	Take(ctx context.Context, key string, rpm int) (wait time.Duration, err error)
}

// MemLimiter is the in-process RateLimiter (token buckets).
type MemLimiter struct {
	mu       sync.Mutex
	limiters *expirable.LRU[string, *rate.Limiter]
}

// NewMemLimiter keeps up to 100,000 keys' buckets.
func NewMemLimiter() *MemLimiter {
	return &MemLimiter{limiters: expirable.NewLRU[string, *rate.Limiter](100_000, nil, 10*time.Minute)}
}

// Take takes a token from key's bucket.
func (m *MemLimiter) Take(_ context.Context, key string, rpm int) (time.Duration, error) {
	m.mu.Lock()
	lim, ok := m.limiters.Get(key)
	if !ok || lim.Burst() != rpm {
		lim = rate.NewLimiter(rate.Every(time.Minute/time.Duration(rpm)), rpm)
		m.limiters.Add(key, lim)
	}
	m.mu.Unlock()
	r := lim.Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel()
		return d, nil
	}
	return 0, nil
}

// Options configure the Service.
type Options struct {
	Catalog *catalog.Catalog
	// ChatModels and EmbedModels are the configured models, as listed.
	ChatModels  []catalog.Model
	EmbedModels []catalog.Model
	// EmbedModel answers "auto" for embeddings.
	EmbedModel string
	// DefaultRPM caps requests per minute of keys that set none.
	DefaultRPM int
	// Limiter counts requests per key. Default: in memory.
	Limiter RateLimiter
}

// New returns the gateway.
func New(o Options) *Service {
	if o.Limiter == nil {
		o.Limiter = NewMemLimiter()
	}
	return &Service{catalog: o.Catalog, chatModels: o.ChatModels, embeds: o.EmbedModels, embedModel: o.EmbedModel,
		defaultRPM: o.DefaultRPM, limiter: o.Limiter}
}

// SetEmbedModel sets the model that answers "auto" for embeddings (the
// search index's model, known once the store is open).
func (s *Service) SetEmbedModel(id string) { s.embedModel = id }

// Tiers a client may ask for with "auto:<tier>".
var tierNames = map[string]bool{"small": true, "medium": true, "large": true}

// ModelNotFound is the OpenAI-shaped 404 for an unknown model.
func ModelNotFound(model string) error {
	return apperr.New(http.StatusNotFound, "model_not_found", "The model `%s` does not exist or you do not have access to it.", model)
}

// RAGModel reports whether a model name asks for an answer from
// documents — "rag" (all the caller's documents) or "rag:<collection>" —
// and names the collection.
func RAGModel(model string) (collection string, ok bool) {
	if model == "rag" {
		return "", true
	}
	if c, found := strings.CutPrefix(model, "rag:"); found && c != "" {
		return c, true
	}
	return "", false
}

// Resolve turns the request's model into router instructions.
func (s *Service) Resolve(model string) (router.Call, error) {
	switch {
	case model == "":
		return router.Call{}, apperr.Invalid("you must provide a model parameter")
	case model == "auto":
		return router.Call{}, nil
	case strings.HasPrefix(model, "auto:"):
		tier := strings.TrimPrefix(model, "auto:")
		if !tierNames[tier] {
			return router.Call{}, ModelNotFound(model)
		}
		return router.Call{Tier: tier}, nil
	}
	for _, m := range s.chatModels {
		if m.ID == model || m.Provider+"/"+m.ID == model {
			return router.Call{Model: model}, nil
		}
	}
	return router.Call{}, ModelNotFound(model)
}

// ResolveEmbedding returns the embedding model to use.
func (s *Service) ResolveEmbedding(model string) (string, error) {
	if model == "" {
		return "", apperr.Invalid("you must provide a model parameter")
	}
	if model == "auto" {
		return s.embedModel, nil
	}
	for _, m := range s.embeds {
		if m.ID == model || m.Provider+"/"+m.ID == model {
			return m.ID, nil
		}
	}
	return "", ModelNotFound(model)
}

// Model is one entry of GET /v1/models.
type Model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// Models lists what a client may ask for: the auto routes, answers from
// the caller's document collections, and every configured model.
func (s *Service) Models(collections []string) []Model {
	out := []Model{{ID: "auto", Object: "model", OwnedBy: "penny"}}
	for _, t := range catalog.Tiers {
		out = append(out, Model{ID: "auto:" + t, Object: "model", OwnedBy: "penny"})
	}
	if len(collections) > 0 {
		out = append(out, Model{ID: "rag", Object: "model", OwnedBy: "penny"})
	}
	for _, c := range collections {
		out = append(out, Model{ID: "rag:" + c, Object: "model", OwnedBy: "penny"})
	}
	var rest []Model
	for _, m := range append(append([]catalog.Model{}, s.chatModels...), s.embeds...) {
		rest = append(rest, Model{ID: m.ID, Object: "model", OwnedBy: m.Provider})
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i].OwnedBy+rest[i].ID < rest[j].OwnedBy+rest[j].ID })
	return append(out, rest...)
}

// Allow takes one request from the key's per-minute allowance; the error
// says how long to wait.
func (s *Service) Allow(ctx context.Context, keyID string, rpm int) error {
	if keyID == "" {
		return nil
	}
	if rpm <= 0 {
		rpm = s.defaultRPM
	}
	if rpm <= 0 {
		return nil
	}
	d, err := s.limiter.Take(ctx, keyID, rpm)
	if err != nil {
		return nil // a limiter that cannot count lets the request through
	}
	if d > 0 {
		e := apperr.New(http.StatusTooManyRequests, "rate_limit_exceeded", "Rate limit reached for requests: this API key allows %d requests per minute.", rpm)
		e.RetryAfter = d
		return e
	}
	return nil
}
