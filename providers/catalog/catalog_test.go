package catalog_test

import (
	"testing"

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
	micros, model := c.BaselineCost("embedding", providers.Usage{InputTokens: 1_000_000})
	require.Equal(t, "text-embedding-3-small", model)
	require.Equal(t, int64(20000), micros)
	micros, model = c.BaselineCost("chat", providers.Usage{InputTokens: 1000, OutputTokens: 1000})
	require.Equal(t, "gpt-4o-mini", model)
	require.Equal(t, int64(750), micros)
}

func TestParseRejects(t *testing.T) {
	for name, raw := range map[string]string{
		"bad json":         `{`,
		"no kind":          `{"baseline":{"chat":"a","embedding":"b"},"models":[{"provider":"p","id":"x"}]}`,
		"embed no dims":    `{"baseline":{"chat":"a","embedding":"b"},"models":[{"provider":"p","id":"x","kind":"embedding","priceDate":"d"}]}`,
		"paid no date":     `{"baseline":{"chat":"a","embedding":"b"},"models":[{"provider":"p","id":"x","kind":"chat"}]}`,
		"unknown baseline": `{"baseline":{"chat":"a","embedding":"b"},"models":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := catalog.Parse([]byte(raw))
			require.Error(t, err)
		})
	}
}
