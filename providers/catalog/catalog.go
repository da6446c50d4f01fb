// Package catalog is the one place where a model's provider, tier, context
// window, embedding space and dated prices live. The defaults are embedded
// (models.json); prices are integer micro-dollars per million tokens
// (Cloudflare neurons are converted at NeuronMicros per neuron).
package catalog

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/penny-dev/penny/providers"
)

//go:embed models.json
var defaultJSON []byte

// Model is one chat or embedding model as offered by one provider.
type Model struct {
	Provider              string `json:"provider"`
	ID                    string `json:"id"`
	Kind                  string `json:"kind"` // "chat" or "embedding"
	Tier                  string `json:"tier,omitempty"`
	ContextWindow         int    `json:"contextWindow"`
	InputMicrosPerM       int64  `json:"inputMicrosPerM"`
	CachedInputMicrosPerM int64  `json:"cachedInputMicrosPerM,omitempty"`
	OutputMicrosPerM      int64  `json:"outputMicrosPerM"`
	Dimensions            int    `json:"dimensions,omitempty"`
	Space                 string `json:"space,omitempty"`
	Free                  bool   `json:"free,omitempty"`
	Deprecated            string `json:"deprecated,omitempty"`
	PriceDate             string `json:"priceDate"`
	Note                  string `json:"note,omitempty"`
}

// Catalog is a read-only set of models; safe for concurrent use.
type Catalog struct {
	PriceDate    string
	NeuronMicros int64
	Baseline     struct {
		Chat      string `json:"chat"`
		Embedding string `json:"embedding"`
	}
	models map[string]Model // key: provider + "/" + id
}

// Default returns the embedded catalog.
func Default() *Catalog {
	c, err := Parse(defaultJSON)
	if err != nil {
		panic("catalog: embedded models.json: " + err.Error())
	}
	return c
}

// Parse reads a catalog in the models.json format and validates it: every
// model names a provider, id and kind, and every paid model has a price date.
func Parse(raw []byte) (*Catalog, error) {
	var doc struct {
		PriceDate    string `json:"priceDate"`
		NeuronMicros int64  `json:"neuronMicros"`
		Baseline     struct {
			Chat      string `json:"chat"`
			Embedding string `json:"embedding"`
		} `json:"baseline"`
		Models []Model `json:"models"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	c := &Catalog{PriceDate: doc.PriceDate, NeuronMicros: doc.NeuronMicros, models: map[string]Model{}}
	c.Baseline.Chat, c.Baseline.Embedding = doc.Baseline.Chat, doc.Baseline.Embedding
	for _, m := range doc.Models {
		if m.Provider == "" || m.ID == "" || (m.Kind != "chat" && m.Kind != "embedding") {
			return nil, fmt.Errorf("catalog: model %q: provider, id and kind (chat|embedding) are required", m.ID)
		}
		if m.Kind == "embedding" && (m.Dimensions <= 0 || m.Space == "") {
			return nil, fmt.Errorf("catalog: embedding model %s/%s needs dimensions and space", m.Provider, m.ID)
		}
		if !m.Free && m.PriceDate == "" {
			return nil, fmt.Errorf("catalog: model %s/%s has no price date", m.Provider, m.ID)
		}
		c.models[m.Provider+"/"+m.ID] = m
	}
	for _, id := range []string{c.Baseline.Chat, c.Baseline.Embedding} {
		if _, err := c.Lookup("openai", id); err != nil {
			return nil, fmt.Errorf("catalog: baseline: %w", err)
		}
	}
	return c, nil
}

// ErrUnknownModel is returned for a model the catalog has no price for.
var ErrUnknownModel = fmt.Errorf("catalog: unknown model")

// Lookup returns the provider's model.
func (c *Catalog) Lookup(provider, id string) (Model, error) {
	m, ok := c.models[provider+"/"+id]
	if !ok {
		return Model{}, fmt.Errorf("%w %s/%s (no price: refusing to book it as $0)", ErrUnknownModel, provider, id)
	}
	return m, nil
}

// Cost prices usage on m in micro-dollars, rounded to the nearest micro.
// Cached input tokens are part of InputTokens and priced at the cached rate
// when the model has one.
func (m Model) Cost(u providers.Usage) int64 {
	if m.Free {
		return 0
	}
	cached := min(u.CachedInputTokens, u.InputTokens)
	cachedRate := m.CachedInputMicrosPerM
	if cachedRate == 0 {
		cachedRate = m.InputMicrosPerM
	}
	// Sum in micro-dollars × 1e6 (integer), then round once.
	total := int64(u.InputTokens-cached)*m.InputMicrosPerM + int64(cached)*cachedRate + int64(u.OutputTokens)*m.OutputMicrosPerM
	return (total + 500_000) / 1_000_000
}

// BaselineCost prices the same usage on the OpenAI-only reference model of
// the kind ("chat" or "embedding"), and names that model.
func (c *Catalog) BaselineCost(kind string, u providers.Usage) (int64, string) {
	id := c.Baseline.Chat
	if kind == "embedding" {
		id = c.Baseline.Embedding
	}
	m, err := c.Lookup("openai", id)
	if err != nil {
		return 0, ""
	}
	return m.Cost(u), id
}

// Models returns every model of the catalog.
func (c *Catalog) Models() []Model {
	out := make([]Model, 0, len(c.models))
	for _, m := range c.models {
		out = append(out, m)
	}
	return out
}
