package rag_test

import (
	"context"
	"errors"
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

type store struct{ chunks []storage.Chunk }

func (s store) ReadableDocuments(ctx context.Context, owner string) ([]storage.Document, error) {
	return []storage.Document{{ID: "d1", OwnerID: owner, Title: "Herons", Status: storage.DocumentReady}}, nil
}

func (s store) ChunksByID(ctx context.Context, ids []string) ([]storage.Chunk, error) {
	var out []storage.Chunk
	for _, id := range ids {
		for _, c := range s.chunks {
			if c.ID == id {
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// embedDown is a router whose embedding model is unavailable.
type embedDown struct{ embeds int }

func (r *embedDown) Embed(context.Context, router.Call, string, []string) (router.EmbedResult, error) {
	r.embeds++
	return router.EmbedResult{}, &providers.Error{Kind: providers.KindUnavailable, Err: errors.New("down")}
}

func (r *embedDown) Chat(ctx context.Context, _ router.Call, req providers.ChatRequest, _ func(string) error) (router.Result, error) {
	resp, err := local.New().Chat(ctx, req)
	return router.Result{Text: resp.Text, Provider: local.Name, Model: local.ChatModel}, err
}

func (r *embedDown) CheckProvider(string) error { return nil }

// TestKeywordFallbackWhenEmbeddingIsDown: design rule 1 — no other model
// stands in for the index's embedding model; the answer comes from keyword
// retrieval and says so.
func TestKeywordFallbackWhenEmbeddingIsDown(t *testing.T) {
	ctx := context.Background()
	kw, err := keyword.Open("")
	require.NoError(t, err)
	defer kw.Close()
	idx := &retrieval.Indexes{EmbedModel: local.EmbedModel, Vectors: exact.New(local.EmbedDimensions), Keywords: kw}
	chunks := []storage.Chunk{
		{ID: "c1", DocumentID: "d1", Text: "Grey herons nest in colonies called heronries.", EmbedModel: local.EmbedModel, Vector: make([]float32, local.EmbedDimensions)},
		{ID: "c2", DocumentID: "d1", Text: "Revenue grew by twelve percent.", EmbedModel: local.EmbedModel, Vector: make([]float32, local.EmbedDimensions)},
	}
	require.NoError(t, idx.Add(ctx, chunks))

	r := &embedDown{}
	svc := rag.New(store{chunks: chunks}, r, idx, rag.Options{EmbedModel: local.EmbedModel, MaxChunks: 3})
	a, err := svc.Answer(ctx, rag.Query{UserID: "u", Service: storage.ServiceRAG, Question: "Where do herons nest?"}, nil)
	require.NoError(t, err)
	require.Equal(t, 1, r.embeds)
	require.Equal(t, retrieval.ModeKeyword, a.Retrieval)
	require.Contains(t, a.Answer, "heronries. [1]")
	require.Equal(t, "c1", a.Citations[0].ChunkID)
}

func TestChunksOfAnotherModelAreRefused(t *testing.T) {
	kw, err := keyword.Open("")
	require.NoError(t, err)
	defer kw.Close()
	idx := &retrieval.Indexes{EmbedModel: local.EmbedModel, Vectors: exact.New(local.EmbedDimensions), Keywords: kw}
	err = idx.Add(context.Background(), []storage.Chunk{{ID: "x", DocumentID: "d", EmbedModel: "text-embedding-3-small", Vector: make([]float32, 1536)}})
	require.ErrorContains(t, err, "embedded with text-embedding-3-small")
}

func (r *embedDown) BookHit(context.Context, router.Call, string, router.Result, int64) error {
	return nil
}
