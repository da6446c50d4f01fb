package rag_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/rag"
	"github.com/penny-dev/penny/app/retrieval"
	"github.com/penny-dev/penny/providers"
	"github.com/penny-dev/penny/providers/local"
	"github.com/penny-dev/penny/providers/router"
	"github.com/penny-dev/penny/storage"
	"github.com/penny-dev/penny/vector/exact"
	"github.com/penny-dev/penny/vector/keyword"
)

// tiered answers by tier: a refusal at small, a grounded answer above.
type tiered struct{ tiers []string }

func (r *tiered) Embed(ctx context.Context, _ router.Call, _ string, texts []string) (router.EmbedResult, error) {
	resp, err := local.New().Embed(ctx, providers.EmbedRequest{Texts: texts})
	return router.EmbedResult{Vectors: resp.Vectors}, err
}

func (r *tiered) Chat(_ context.Context, call router.Call, _ providers.ChatRequest, _ func(string) error) (router.Result, error) {
	tier := call.Tier
	if tier == "" {
		tier = "small"
	}
	r.tiers = append(r.tiers, tier)
	if tier == "small" {
		return router.Result{Text: "I'm sorry, but I can't help with that.", Tier: tier, Provider: "cloudflare", Model: "small-model", CostMicros: 1}, nil
	}
	return router.Result{Text: "Grey herons nest in colonies called heronries [1].", Tier: tier, Provider: "openai", Model: "medium-model", CostMicros: 10}, nil
}

func (r *tiered) CheckProvider(string) error { return nil }

func (r *tiered) BookHit(context.Context, router.Call, string, router.Result, int64) error {
	return nil
}

func TestCascadeEscalatesWeakAnswers(t *testing.T) {
	ctx := context.Background()
	kw, err := keyword.Open("")
	require.NoError(t, err)
	defer kw.Close()
	idx := &retrieval.Indexes{EmbedModel: local.EmbedModel, Vectors: exact.New(local.EmbedDimensions), Keywords: kw}
	text := "Grey herons nest in colonies called heronries."
	emb, _ := local.New().Embed(ctx, providers.EmbedRequest{Texts: []string{text}})
	chunks := []storage.Chunk{{ID: "c1", DocumentID: "d1", Text: text, EmbedModel: local.EmbedModel, Vector: emb.Vectors[0]}}
	require.NoError(t, idx.Add(ctx, chunks))

	r := &tiered{}
	svc := rag.New(store{chunks: chunks}, r, idx, rag.Options{EmbedModel: local.EmbedModel, MaxChunks: 3,
		Cascade: map[string]bool{"small": true}, MinGroundedness: 0.5})
	a, err := svc.Answer(ctx, rag.Query{UserID: "u", Question: "Where do herons nest?"}, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"small", "medium"}, r.tiers)
	require.Equal(t, "openai", a.Provider)
	require.Contains(t, a.Reasons[0], "cascade: the small answer (cloudflare/small-model) was a refusal; escalated to medium")
	require.Equal(t, int64(11), a.Cost.Micros, "both calls are paid for")
	require.InDelta(t, 1.0, a.Groundedness, 1e-9)

	// Without the cascade the first answer stands.
	r = &tiered{}
	svc = rag.New(store{chunks: chunks}, r, idx, rag.Options{EmbedModel: local.EmbedModel, MaxChunks: 3})
	a, err = svc.Answer(ctx, rag.Query{UserID: "u", Question: "Where do herons nest?"}, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"small"}, r.tiers)
	require.Zero(t, a.Groundedness)
}
