// Package vectortest is the conformance suite every nearest-neighbour index
// runs: correct neighbours on small data, filters applied before ranking,
// replace and delete, dimension checks, and concurrent use.
package vectortest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/vector"
)

// Run runs the suite; open returns a new empty index for dim dimensions.
func Run(t *testing.T, open func(t *testing.T, dim int) vector.Index) {
	t.Run("Neighbours", func(t *testing.T) { testNeighbours(t, open(t, 3)) })
	t.Run("FilterBeforeRanking", func(t *testing.T) { testFilter(t, open(t, 8)) })
	t.Run("UpsertDelete", func(t *testing.T) { testUpsertDelete(t, open(t, 3)) })
	t.Run("Dimensions", func(t *testing.T) { testDimensions(t, open(t, 3)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, open(t, 16)) })
}

func testNeighbours(t *testing.T, x vector.Index) {
	ctx := context.Background()
	require.NoError(t, x.Upsert(ctx, []vector.Item{
		{ID: "x", DocumentID: "d", Vector: []float32{1, 0, 0}},
		{ID: "y", DocumentID: "d", Vector: []float32{0, 2, 0}}, // not unit: cosine, not dot
		{ID: "xy", DocumentID: "d", Vector: []float32{1, 1, 0}},
		{ID: "z", DocumentID: "d", Vector: []float32{0, 0, 1}},
	}))
	require.Equal(t, 4, x.Len())
	hits, err := x.Search(ctx, []float32{0.9, 0.1, 0}, 3, vector.ForDocuments("d"))
	require.NoError(t, err)
	require.Equal(t, []string{"x", "xy", "y"}, ids(hits))
	require.InDelta(t, 0.9939, hits[0].Score, 1e-3)

	hits, err = x.Search(ctx, []float32{0, 1, 0}, 10, vector.ForDocuments("d"))
	require.NoError(t, err)
	require.Len(t, hits, 4, "k larger than the index")
	require.Equal(t, "y", hits[0].ID)

	hits, err = x.Search(ctx, []float32{0, 1, 0}, 0, vector.ForDocuments("d"))
	require.NoError(t, err)
	require.Empty(t, hits)
}

func testFilter(t *testing.T, x vector.Index) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	var items []vector.Item
	for i := range 200 {
		items = append(items, vector.Item{ID: fmt.Sprint("c", i), DocumentID: fmt.Sprint("d", i%10), Vector: randVec(rng, 8)})
	}
	require.NoError(t, x.Upsert(ctx, items))
	q := randVec(rng, 8)
	hits, err := x.Search(ctx, q, 5, vector.ForDocuments("d3", "d7"))
	require.NoError(t, err)
	require.Len(t, hits, 5, "a filter narrows the candidates, it does not shrink k")
	for _, h := range hits {
		var n int
		_, _ = fmt.Sscanf(h.ID, "c%d", &n)
		require.Contains(t, []int{3, 7}, n%10)
	}
	hits, err = x.Search(ctx, q, 5, vector.Filter{})
	require.NoError(t, err)
	require.Empty(t, hits, "the zero filter matches nothing")
}

func testUpsertDelete(t *testing.T, x vector.Index) {
	ctx := context.Background()
	require.NoError(t, x.Upsert(ctx, []vector.Item{{ID: "a", DocumentID: "d", Vector: []float32{1, 0, 0}}, {ID: "b", DocumentID: "d", Vector: []float32{0, 1, 0}}}))
	require.NoError(t, x.Upsert(ctx, []vector.Item{{ID: "a", DocumentID: "d", Vector: []float32{0, 0, 1}}}))
	require.Equal(t, 2, x.Len(), "same id replaces")
	hits, err := x.Search(ctx, []float32{0, 0, 1}, 1, vector.ForDocuments("d"))
	require.NoError(t, err)
	require.Equal(t, "a", hits[0].ID)

	require.NoError(t, x.Delete(ctx, []string{"a", "unknown"}))
	require.Equal(t, 1, x.Len())
	hits, err = x.Search(ctx, []float32{0, 0, 1}, 5, vector.ForDocuments("d"))
	require.NoError(t, err)
	require.Equal(t, []string{"b"}, ids(hits))
}

func testDimensions(t *testing.T, x vector.Index) {
	ctx := context.Background()
	require.Error(t, x.Upsert(ctx, []vector.Item{{ID: "a", DocumentID: "d", Vector: []float32{1, 0}}}))
	require.Zero(t, x.Len())
	_, err := x.Search(ctx, []float32{1, 0, 0, 0}, 1, vector.ForDocuments("d"))
	require.Error(t, err)
}

func testConcurrent(t *testing.T, x vector.Index) {
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for i := range 100 {
				require.NoError(t, x.Upsert(ctx, []vector.Item{{ID: fmt.Sprint(w, "-", i), DocumentID: "d", Vector: randVec(rng, 16)}}))
				if i%10 == 0 {
					require.NoError(t, x.Delete(ctx, []string{fmt.Sprint(w, "-", i-5)}))
				}
			}
		}()
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 10))
			for range 100 {
				_, err := x.Search(ctx, randVec(rng, 16), 5, vector.ForDocuments("d"))
				require.NoError(t, err)
			}
		}()
	}
	wg.Wait()
}

func randVec(rng *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

func ids(hits []vector.Hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.ID
	}
	return out
}
