package hnsw_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/vector"
	"github.com/penny-dev/penny/vector/exact"
	"github.com/penny-dev/penny/vector/hnsw"
	"github.com/penny-dev/penny/vector/vectortest"
)

func TestConformance(t *testing.T) {
	vectortest.Run(t, func(t *testing.T, dim int) vector.Index { return hnsw.New(dim, hnsw.Options{ExactBelow: 1}) })
}

// Clustered generates n vectors around c centres (the shape of real
// embeddings), each assigned to one of docs documents.
func Clustered(seed uint64, n, dim, c, docs int) []vector.Item {
	rng := rand.New(rand.NewPCG(seed, 7))
	centres := make([][]float32, c)
	for i := range centres {
		centres[i] = make([]float32, dim)
		for j := range centres[i] {
			centres[i][j] = float32(rng.NormFloat64())
		}
	}
	items := make([]vector.Item, n)
	for i := range items {
		v := make([]float32, dim)
		cen := centres[rng.IntN(c)]
		for j := range v {
			v[j] = cen[j] + 0.35*float32(rng.NormFloat64())
		}
		items[i] = vector.Item{ID: fmt.Sprint("c", i), DocumentID: fmt.Sprint("d", i%docs), Vector: v}
	}
	return items
}

func recall(t *testing.T, got, want []vector.Hit) float64 {
	set := map[string]bool{}
	for _, h := range want {
		set[h.ID] = true
	}
	hit := 0
	for _, h := range got {
		if set[h.ID] {
			hit++
		}
	}
	return float64(hit) / float64(len(want))
}

// TestRecallAgainstExact: recall@10 against exact search on clustered
// data, unfiltered and with a selective filter; required ≥ 0.95.
func TestRecallAgainstExact(t *testing.T) {
	ctx := context.Background()
	const n, dim = 4000, 48
	items := Clustered(1, n, dim, 40, 400)
	h := hnsw.New(dim, hnsw.Options{ExactBelow: 1})
	ex := exact.New(dim)
	require.NoError(t, h.Upsert(ctx, items))
	require.NoError(t, ex.Upsert(ctx, items))
	docs := make([]string, 400)
	for i := range docs {
		docs[i] = fmt.Sprint("d", i)
	}
	queries := Clustered(2, 200, dim, 40, 1)
	for name, f := range map[string]vector.Filter{"all": vector.ForDocuments(docs...), "one in four docs": vector.ForDocuments(docs[:100]...)} {
		total := 0.0
		for _, q := range queries {
			want, err := ex.Search(ctx, q.Vector, 10, f)
			require.NoError(t, err)
			got, err := h.Search(ctx, q.Vector, 10, f)
			require.NoError(t, err)
			total += recall(t, got, want)
		}
		r := total / float64(len(queries))
		t.Logf("recall@10 (%s) = %.3f", name, r)
		require.GreaterOrEqual(t, r, 0.95, name)
	}
}

func TestDeletedNeverReturned(t *testing.T) {
	ctx := context.Background()
	items := Clustered(3, 1000, 16, 10, 10)
	h := hnsw.New(16, hnsw.Options{ExactBelow: 1})
	require.NoError(t, h.Upsert(ctx, items))
	var gone []string
	for i := 0; i < 1000; i += 2 {
		gone = append(gone, items[i].ID)
	}
	require.NoError(t, h.Delete(ctx, gone))
	require.Equal(t, 500, h.Len())
	docs := make([]string, 10)
	for i := range docs {
		docs[i] = fmt.Sprint("d", i)
	}
	for _, q := range items[:50] {
		hits, err := h.Search(ctx, q.Vector, 10, vector.ForDocuments(docs...))
		require.NoError(t, err)
		require.Len(t, hits, 10)
		for _, hit := range hits {
			var i int
			fmt.Sscanf(hit.ID, "c%d", &i)
			require.Equal(t, 1, i%2, "deleted items are never returned")
		}
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	ctx := context.Background()
	items := Clustered(4, 1500, 24, 12, 30)
	h := hnsw.New(24, hnsw.Options{ExactBelow: 1})
	require.NoError(t, h.Upsert(ctx, items))
	require.NoError(t, h.Delete(ctx, []string{"c1", "c2"}))
	path := t.TempDir() + "/vectors.hnsw"
	require.NoError(t, h.Save(path, "penny-hash-384"))

	got, model, err := hnsw.Load(path, hnsw.Options{ExactBelow: 1})
	require.NoError(t, err)
	require.Equal(t, "penny-hash-384", model)
	require.Equal(t, h.Len(), got.Len())
	require.Equal(t, h.Fingerprint(), got.Fingerprint())
	docs := make([]string, 30)
	for i := range docs {
		docs[i] = fmt.Sprint("d", i)
	}
	f := vector.ForDocuments(docs...)
	for _, q := range items[:20] {
		a, err := h.Search(ctx, q.Vector, 5, f)
		require.NoError(t, err)
		b, err := got.Search(ctx, q.Vector, 5, f)
		require.NoError(t, err)
		require.Equal(t, a, b, "the loaded graph answers the same")
	}
	// It keeps working after loading.
	require.NoError(t, got.Upsert(ctx, Clustered(5, 10, 24, 2, 1)))

	// Garbage and truncated files are refused, not half-loaded.
	require.NoError(t, os.WriteFile(path+".bad", []byte("PNYHNSW1 garbage"), 0o600))
	_, _, err = hnsw.Load(path+".bad", hnsw.Options{})
	require.Error(t, err)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path+".cut", raw[:len(raw)/2], 0o600))
	_, _, err = hnsw.Load(path+".cut", hnsw.Options{})
	require.Error(t, err)
}

func TestFingerprintIgnoresOrder(t *testing.T) {
	var a, b hnsw.Fingerprint
	for _, id := range []string{"x", "y", "z"} {
		a.Add(id)
	}
	for _, id := range []string{"z", "x", "y"} {
		b.Add(id)
	}
	require.Equal(t, a, b)
	b.Add("w")
	require.NotEqual(t, a, b)
}

// BenchmarkInsert: building a graph of 384-d clustered vectors.
func BenchmarkInsert(b *testing.B) {
	items := Clustered(1, 5000, 384, 50, 100)
	for b.Loop() {
		h := hnsw.New(384, hnsw.Options{})
		if err := h.Upsert(context.Background(), items); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSearch: k=10 on 5,000 384-d clustered vectors, unfiltered.
func BenchmarkSearch(b *testing.B) {
	items := Clustered(1, 5000, 384, 50, 100)
	h := hnsw.New(384, hnsw.Options{})
	if err := h.Upsert(context.Background(), items); err != nil {
		b.Fatal(err)
	}
	docs := make([]string, 100)
	for i := range docs {
		docs[i] = fmt.Sprint("d", i)
	}
	f := vector.ForDocuments(docs...)
	qs := Clustered(2, 100, 384, 50, 1)
	i := 0
	for b.Loop() {
		if _, err := h.Search(context.Background(), qs[i%len(qs)].Vector, 10, f); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
