package router_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/providers"
	"github.com/penny-dev/penny/providers/local"
	"github.com/penny-dev/penny/providers/router"
	"github.com/penny-dev/penny/storage/cache/lru"
)

// countingEmbedder counts texts embedded.
type countingEmbedder struct{ texts int }

func (c *countingEmbedder) Embed(ctx context.Context, req providers.EmbedRequest) (providers.EmbedResponse, error) {
	c.texts += len(req.Texts)
	return local.New().Embed(ctx, req)
}

func TestEmbeddingCache(t *testing.T) {
	l := &memLedger{}
	emb := &countingEmbedder{}
	r := build(t, router.Config{Ledger: l, Cache: lru.New(100, nil), Tiers: allTiers([]router.ChatCandidate{localCand}),
		Embedders: map[string][]router.EmbedHost{"@cf/baai/bge-m3": {{Provider: "cloudflare", Client: emb}}}})
	ctx := context.Background()
	first, err := r.Embed(ctx, router.Call{UserID: "u"}, "@cf/baai/bge-m3", []string{"herons nest", "in reeds"})
	require.NoError(t, err)
	require.Equal(t, 2, emb.texts)
	second, err := r.Embed(ctx, router.Call{UserID: "u"}, "@cf/baai/bge-m3", []string{"in reeds", "new text", "herons nest"})
	require.NoError(t, err)
	require.Equal(t, 3, emb.texts, "only the new text was embedded")
	require.Equal(t, first.Vectors[1], second.Vectors[0])
	require.Equal(t, first.Vectors[0], second.Vectors[2])
	hit := l.entries[len(l.entries)-2]
	require.True(t, hit.CacheHit)
	require.Equal(t, "embedding", hit.CacheClass)
	require.Zero(t, hit.CostMicros)
	require.Equal(t, 5, hit.TokensIn, "two cached texts, ~2-3 tokens each")
}

func TestGenerationCachePerUser(t *testing.T) {
	l := &memLedger{}
	paid := &counting{}
	r := build(t, router.Config{Ledger: l, Cache: lru.New(100, nil), Tiers: allTiers([]router.ChatCandidate{{Provider: "openai", Model: "gpt-4o-mini", Client: paid}})})
	ctx := context.Background()
	req := providers.ChatRequest{Messages: []providers.Message{{Role: "user", Content: "What  is a heron?"}}}
	res, err := r.Chat(ctx, router.Call{UserID: "u1"}, req, nil)
	require.NoError(t, err)
	require.Positive(t, res.CostMicros)
	same := providers.ChatRequest{Messages: []providers.Message{{Role: "user", Content: "What is a heron? "}}}
	hit, err := r.Chat(ctx, router.Call{UserID: "u1"}, same, nil)
	require.NoError(t, err)
	require.Equal(t, 1, paid.n(), "whitespace is normalised: the second call is a hit")
	require.Equal(t, "exact", hit.Cache)
	require.Zero(t, hit.CostMicros)
	e := l.entries[len(l.entries)-1]
	require.True(t, e.CacheHit)
	require.Equal(t, res.CostMicros, e.AvoidedMicros)
	require.Equal(t, res.BaselineMicros, e.BaselineMicros)

	_, err = r.Chat(ctx, router.Call{UserID: "u2"}, same, nil)
	require.NoError(t, err)
	require.Equal(t, 2, paid.n(), "never across users")
	_, err = r.Chat(ctx, router.Call{UserID: "u1", NoCache: true}, same, nil)
	require.NoError(t, err)
	require.Equal(t, 3, paid.n(), "NoCache bypasses")

	var streamed string
	_, err = r.Chat(ctx, router.Call{UserID: "u1"}, same, func(d string) error { streamed += d; return nil })
	require.NoError(t, err)
	require.Equal(t, "ok", streamed, "a hit streams too")
	require.Equal(t, 3, paid.n())
}
