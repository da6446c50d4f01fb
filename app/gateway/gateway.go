// Package gateway is penny's OpenAI-compatible API: any program that
// speaks the OpenAI protocol gets penny's routing, failover and cost
// accounting by changing its base URL and key. This package resolves model
// names ("auto", "auto:<tier>", a catalog id), enforces per-key limits
// (requests per minute, monthly budget) and lists the models; the HTTP
// shapes live in app/httpapi.
package gateway

import (
	"context"
	"fmt"
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
	"github.com/penny-dev/penny/storage"
)

// Ledger is what the key budgets read.
type Ledger interface {
	EachLedger(ctx context.Context, f storage.LedgerFilter, fn func(storage.LedgerEntry) error) error
}

// Service is the gateway capability. Safe for concurrent use.
type Service struct {
	catalog    *catalog.Catalog
	chatModels []catalog.Model
	embeds     []catalog.Model
	embedModel string
	defaultRPM int
	limiters   *expirable.LRU[string, *rate.Limiter]
	limMu      sync.Mutex
	Budgets    *KeyBudgets
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
	Ledger     Ledger
	Now        func() time.Time
}

// New returns the gateway.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{catalog: o.Catalog, chatModels: o.ChatModels, embeds: o.EmbedModels, embedModel: o.EmbedModel,
		defaultRPM: o.DefaultRPM, limiters: expirable.NewLRU[string, *rate.Limiter](100_000, nil, 10*time.Minute),
		Budgets: &KeyBudgets{ledger: o.Ledger, now: o.Now, spent: map[string]*monthSpend{}}}
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
func (s *Service) Allow(keyID string, rpm int) error {
	if keyID == "" {
		return nil
	}
	if rpm <= 0 {
		rpm = s.defaultRPM
	}
	if rpm <= 0 {
		return nil
	}
	s.limMu.Lock()
	lim, ok := s.limiters.Get(keyID)
	if !ok || lim.Burst() != rpm {
		lim = rate.NewLimiter(rate.Every(time.Minute/time.Duration(rpm)), rpm)
		s.limiters.Add(keyID, lim)
	}
	s.limMu.Unlock()
	r := lim.Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel()
		e := apperr.New(http.StatusTooManyRequests, "rate_limit_exceeded", "Rate limit reached for requests: this API key allows %d requests per minute.", rpm)
		e.RetryAfter = d
		return e
	}
	return nil
}

// KeyBudgets enforces API keys' monthly budgets as the router's Budget:
// once a key's paid spend this month reaches its budget, paid models leave
// its candidate lists (free ones stay). Spend is read from the ledger once
// per key and month, then kept current by Observe.
type KeyBudgets struct {
	ledger Ledger
	now    func() time.Time
	mu     sync.Mutex
	spent  map[string]*monthSpend
	next   router.Budget
}

type monthSpend struct {
	month  string
	micros int64
}

// Chain makes b consult next (such as user budgets) after the key budget.
func (b *KeyBudgets) Chain(next router.Budget) { b.next = next }

// Allow refuses paid models once the key's budget is spent.
func (b *KeyBudgets) Allow(ctx context.Context, call router.Call, m catalog.Model) error {
	if call.APIKeyID != "" && call.KeyBudgetMicros > 0 {
		spent, err := b.spentThisMonth(ctx, call.APIKeyID)
		if err != nil {
			return err
		}
		if spent >= call.KeyBudgetMicros {
			return fmt.Errorf("the API key's monthly budget ($%.2f) is spent", float64(call.KeyBudgetMicros)/1e6)
		}
	}
	if b.next != nil {
		return b.next.Allow(ctx, call, m)
	}
	return nil
}

func monthOf(t time.Time) (string, time.Time) {
	t = t.UTC()
	start := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return start.Format("2006-01"), start
}

func (b *KeyBudgets) spentThisMonth(ctx context.Context, keyID string) (int64, error) {
	month, start := monthOf(b.now())
	b.mu.Lock()
	if s, ok := b.spent[keyID]; ok && s.month == month {
		b.mu.Unlock()
		return s.micros, nil
	}
	b.mu.Unlock()
	var total int64
	err := b.ledger.EachLedger(ctx, storage.LedgerFilter{From: start, To: start.AddDate(0, 1, 0)}, func(e storage.LedgerEntry) error {
		if e.APIKeyID == keyID {
			total += e.CostMicros
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if s, ok := b.spent[keyID]; ok && s.month == month {
		return s.micros, nil // Observe raced ahead: it is current
	}
	b.spent[keyID] = &monthSpend{month: month, micros: total}
	return total, nil
}

// Observe adds a booked entry to its key's spend.
func (b *KeyBudgets) Observe(e storage.LedgerEntry) {
	if e.APIKeyID == "" || e.CostMicros == 0 {
		return
	}
	month, _ := monthOf(e.Time)
	b.mu.Lock()
	defer b.mu.Unlock()
	if s, ok := b.spent[e.APIKeyID]; ok && s.month == month {
		s.micros += e.CostMicros
	}
}
