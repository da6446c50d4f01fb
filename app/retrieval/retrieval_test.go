package retrieval_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/retrieval"
	"github.com/penny-dev/penny/storage"
	"github.com/penny-dev/penny/vector"
	"github.com/penny-dev/penny/vector/exact"
	"github.com/penny-dev/penny/vector/keyword"
)

func TestVectorWeightZeroOnlyFillsIn(t *testing.T) {
	ctx := context.Background()
	kw, err := keyword.Open("")
	require.NoError(t, err)
	defer kw.Close()
	x := &retrieval.Indexes{EmbedModel: "m", Vectors: exact.New(2), Keywords: kw, Weights: [2]float64{0, 1}}
	require.NoError(t, x.Add(ctx, []storage.Chunk{
		{ID: "words", DocumentID: "d", Text: "grey herons nest in heronries", EmbedModel: "m", Vector: []float32{0, 1}},
		{ID: "meaning", DocumentID: "d", Text: "where wading birds breed", EmbedModel: "m", Vector: []float32{1, 0}},
	}))
	hits, mode, err := x.Search(ctx, []float32{1, 0}, "herons nest", 5, vector.ForDocuments("d"))
	require.NoError(t, err)
	require.Equal(t, retrieval.ModeHybrid, mode)
	require.Equal(t, "words", hits[0].ID, "keyword order first, though the vector prefers the other")
	require.Equal(t, "meaning", hits[1].ID, "the nearest neighbour fills in")

	x.Weights = [2]float64{1, 0}
	hits, _, err = x.Search(ctx, []float32{1, 0}, "herons nest", 5, vector.ForDocuments("d"))
	require.NoError(t, err)
	require.Equal(t, "meaning", hits[0].ID)
}
