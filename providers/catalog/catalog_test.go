package catalog_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/providers"
	"github.com/penny-dev/penny/providers/catalog"
)

func TestDefaultCatalog(t *testing.T) {
	c := catalog.Default()
	m, err := c.Lookup("openai", "gpt-4o-mini")
	require.NoError(t, err)
	require.Equal(t, int64(150000), m.InputMicrosPerM)

	_, err = c.Lookup("openai", "gpt-0")
	require.ErrorIs(t, err, catalog.ErrUnknownModel)

	local, err := c.Lookup("local", "penny-hash-384")
	require.NoError(t, err)
	require.Equal(t, 384, local.Dimensions)
	require.Zero(t, local.Cost(providers.Usage{InputTokens: 1_000_000}))
}

func TestCostArithmetic(t *testing.T) {
	m := catalog.Model{InputMicrosPerM: 150000, CachedInputMicrosPerM: 75000, OutputMicrosPerM: 600000}
	cases := []struct {
		name string
		u    providers.Usage
		want int64
	}{
		{"one million in", providers.Usage{InputTokens: 1_000_000}, 150000},
		{"in and out", providers.Usage{InputTokens: 1000, OutputTokens: 500}, 450}, // 150 + 300
		{"cached share", providers.Usage{InputTokens: 1000, CachedInputTokens: 400, OutputTokens: 0}, 120},
		{"rounds to nearest", providers.Usage{InputTokens: 3}, 0},                // 0.45 µ$
		{"rounds half up", providers.Usage{InputTokens: 10, OutputTokens: 0}, 2}, // 1.5 µ$
		{"zero", providers.Usage{}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { require.Equal(t, tc.want, m.Cost(tc.u)) })
	}
}

func TestBaseline(t *testing.T) {
	c := catalog.Default()
	micros, model := c.BaselineCost("embedding", "", providers.Usage{InputTokens: 1_000_000})
	require.Equal(t, "text-embedding-3-small", model)
	require.Equal(t, int64(20000), micros)
	micros, model = c.BaselineCost("chat", "small", providers.Usage{InputTokens: 1000, OutputTokens: 1000})
	require.Equal(t, "gpt-4o-mini", model)
	require.Equal(t, int64(750), micros)
	micros, model = c.BaselineCost("chat", "large", providers.Usage{InputTokens: 1000, OutputTokens: 1000})
	require.Equal(t, "gpt-4o", model)
	require.Equal(t, int64(12500), micros)
}

func TestParseRejects(t *testing.T) {
	for name, raw := range map[string]string{
		"bad json":             `{`,
		"no kind":              `{"baseline":{"chat":"a","embedding":"b"},"models":[{"provider":"p","id":"x"}]}`,
		"embed no dims":        `{"baseline":{"chat":"a","embedding":"b"},"models":[{"provider":"p","id":"x","kind":"embedding","priceDate":"d"}]}`,
		"paid no date":         `{"baseline":{"chat":"a","embedding":"b"},"models":[{"provider":"p","id":"x","kind":"chat"}]}`,
		"unknown baseline":     `{"baseline":{"chat":{"small":"a"},"embedding":"b"},"models":[]}`,
		"neurons without rate": `{"neuronMicros":0,"baseline":{"chat":{},"embedding":"b"},"models":[{"provider":"p","id":"x","kind":"chat","priceDate":"d","neuronsInPerM":5}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := catalog.Parse([]byte(raw))
			require.Error(t, err)
		})
	}
}

// TestNeuronPricing is the golden arithmetic of Cloudflare billing:
// neurons × $0.011/1000 = 11 µ$ per neuron.
func TestNeuronPricing(t *testing.T) {
	c := catalog.Default()
	m, err := c.Lookup("cloudflare", "@cf/meta/llama-3.3-70b-instruct-fp8-fast")
	require.NoError(t, err)
	u := providers.Usage{InputTokens: 755, OutputTokens: 10}
	require.InDelta(t, 755*26668/1e6+10*204805/1e6, m.Neurons(u), 1e-9) // 22.18 neurons
	require.Equal(t, int64(244), m.Cost(u))                             // 22.18 × 11 µ$
	u.Neurons = 100                                                     // reported neurons win
	require.Equal(t, int64(1100), m.Cost(u))

	emb, err := c.Lookup("cloudflare", "@cf/baai/bge-m3")
	require.NoError(t, err)
	require.Equal(t, int64(11825), emb.Cost(providers.Usage{InputTokens: 1_000_000}), "1,075 neurons per M tokens")
}

func TestFreeAllocationResetsAtMidnightUTC(t *testing.T) {
	f := catalog.NewFreeAllocation(10000)
	day := time.Date(2026, 11, 25, 23, 0, 0, 0, time.UTC)
	require.Zero(t, f.Consume(day, 9000))
	require.InDelta(t, 500, f.Consume(day, 1500), 1e-9, "only the part beyond 10k is billable")
	require.InDelta(t, 200, f.Consume(day, 200), 1e-9)
	require.Zero(t, f.Remaining(day))
	next := day.Add(2 * time.Hour)
	require.InDelta(t, 10000, f.Remaining(next), 1e-9)
	f.Exhaust(next)
	require.Zero(t, f.Remaining(next))
}

func TestWithAddsLocalModels(t *testing.T) {
	c := catalog.Default().With(catalog.Model{Provider: "ollama", ID: "llama3.2", Kind: "chat", Tier: "small", Free: true})
	m, err := c.Lookup("ollama", "llama3.2")
	require.NoError(t, err)
	require.Zero(t, m.Cost(providers.Usage{InputTokens: 1000}))
	_, err = catalog.Default().Lookup("ollama", "llama3.2")
	require.Error(t, err, "the default catalog is not changed")
}

func TestWithBaseline(t *testing.T) {
	c, err := catalog.Default().WithBaseline(catalog.Baseline{Chat: map[string]string{"small": "gpt-4.1-mini"}, Embedding: "text-embedding-3-large"})
	require.NoError(t, err)
	_, model := c.BaselineCost("chat", "small", providers.Usage{})
	require.Equal(t, "gpt-4.1-mini", model)
	_, model = c.BaselineCost("chat", "large", providers.Usage{})
	require.Equal(t, "gpt-4o", model, "unchanged tiers keep theirs")
	_, model = c.BaselineCost("embedding", "", providers.Usage{})
	require.Equal(t, "text-embedding-3-large", model)
	_, err = catalog.Default().WithBaseline(catalog.Baseline{Chat: map[string]string{"small": "claude-haiku-4-5"}})
	require.Error(t, err)
	_, err = catalog.Default().WithBaseline(catalog.Baseline{Embedding: "gpt-4o"})
	require.Error(t, err)
}
