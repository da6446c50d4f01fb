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
	// NeuronsInPerM and NeuronsOutPerM price Cloudflare models in neurons.
	NeuronsInPerM  int64  `json:"neuronsInPerM,omitempty"`
	NeuronsOutPerM int64  `json:"neuronsOutPerM,omitempty"`
	Free           bool   `json:"free,omitempty"`
	Deprecated     string `json:"deprecated,omitempty"`
	PriceDate      string `json:"priceDate"`
	Note           string `json:"note,omitempty"`

	neuronMicros int64
}

// PricedInNeurons reports whether the model bills in Cloudflare neurons.
func (m Model) PricedInNeurons() bool { return m.NeuronsInPerM > 0 || m.NeuronsOutPerM > 0 }

// Neurons is what usage costs in neurons: as reported, else computed from
// the token counts.
func (m Model) Neurons(u providers.Usage) float64 {
	if u.Neurons > 0 {
		return u.Neurons
	}
	return (float64(u.InputTokens)*float64(m.NeuronsInPerM) + float64(u.OutputTokens)*float64(m.NeuronsOutPerM)) / 1e6
}

// NeuronCost prices a number of neurons in micro-dollars, rounded.
func (m Model) NeuronCost(neurons float64) int64 {
	return int64(neurons*float64(m.neuronMicros) + 0.5)
}

// Baseline names the OpenAI-only reference: a chat model per tier and one
// embedding model.
type Baseline struct {
	Chat      map[string]string `json:"chat"`
	Embedding string            `json:"embedding"`
}

// Catalog is a read-only set of models; safe for concurrent use.
type Catalog struct {
	PriceDate string
	// NeuronMicros is the price of one Cloudflare neuron in micro-dollars.
	NeuronMicros int64
	// FreeNeuronsPerDay is Cloudflare's daily free allocation.
	FreeNeuronsPerDay float64
	Baseline          Baseline
	models            map[string]Model // key: provider + "/" + id
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
		PriceDate         string   `json:"priceDate"`
		NeuronMicros      int64    `json:"neuronMicros"`
		FreeNeuronsPerDay float64  `json:"freeNeuronsPerDay"`
		Baseline          Baseline `json:"baseline"`
		Models            []Model  `json:"models"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	c := &Catalog{PriceDate: doc.PriceDate, NeuronMicros: doc.NeuronMicros, FreeNeuronsPerDay: doc.FreeNeuronsPerDay,
		Baseline: doc.Baseline, models: map[string]Model{}}
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
		if (m.NeuronsInPerM > 0 || m.NeuronsOutPerM > 0) && doc.NeuronMicros <= 0 {
			return nil, fmt.Errorf("catalog: model %s/%s is priced in neurons but neuronMicros is not set", m.Provider, m.ID)
		}
		m.neuronMicros = doc.NeuronMicros
		c.models[m.Provider+"/"+m.ID] = m
	}
	if _, err := c.Lookup("openai", c.Baseline.Embedding); err != nil {
		return nil, fmt.Errorf("catalog: baseline: %w", err)
	}
	for _, tier := range Tiers {
		if _, err := c.Lookup("openai", c.Baseline.Chat[tier]); err != nil {
			return nil, fmt.Errorf("catalog: baseline for %s: %w", tier, err)
		}
	}
	return c, nil
}

// Tiers are the model classes, cheapest first.
var Tiers = []string{"small", "medium", "large"}

// With returns a copy of the catalog with models added or replaced (such
// as the models a local server reports at start, which are free).
func (c *Catalog) With(models ...Model) *Catalog {
	out := *c
	out.models = make(map[string]Model, len(c.models)+len(models))
	for k, v := range c.models {
		out.models[k] = v
	}
	for _, m := range models {
		m.neuronMicros = c.NeuronMicros
		out.models[m.Provider+"/"+m.ID] = m
	}
	return &out
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
// when the model has one. Models priced in neurons cost their neurons
// (before any free allocation, which the router applies).
func (m Model) Cost(u providers.Usage) int64 {
	if m.Free {
		return 0
	}
	if m.PricedInNeurons() {
		return m.NeuronCost(m.Neurons(u))
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
// the kind ("chat" or "embedding") and tier, and names that model.
func (c *Catalog) BaselineCost(kind, tier string, u providers.Usage) (int64, string) {
	id := c.Baseline.Chat[tier]
	if id == "" {
		id = c.Baseline.Chat["small"]
	}
	if kind == "embedding" {
		id = c.Baseline.Embedding
	}
	u.Neurons = 0
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

// WithBaseline returns a copy whose OpenAI-only reference is b; every
// model it names must be an OpenAI model of the catalog.
func (c *Catalog) WithBaseline(b Baseline) (*Catalog, error) {
	out := c.With()
	if b.Embedding != "" {
		if m, err := c.Lookup("openai", b.Embedding); err != nil || m.Kind != "embedding" {
			return nil, fmt.Errorf("catalog: baseline embedding model %q is not an OpenAI embedding model of the catalog", b.Embedding)
		}
		out.Baseline.Embedding = b.Embedding
	}
	chat := map[string]string{}
	for k, v := range c.Baseline.Chat {
		chat[k] = v
	}
	for tier, id := range b.Chat {
		if m, err := c.Lookup("openai", id); err != nil || m.Kind != "chat" {
			return nil, fmt.Errorf("catalog: baseline chat model %q is not an OpenAI chat model of the catalog", id)
		}
		chat[tier] = id
	}
	out.Baseline.Chat = chat
	return out, nil
}
