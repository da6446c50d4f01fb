package keyword_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/vector"
	"github.com/penny-dev/penny/vector/keyword"
)

var corpus = []vector.Text{
	{ID: "c1", DocumentID: "d1", Text: "The heron nests in tall reeds by the river."},
	{ID: "c2", DocumentID: "d1", Text: "Rivers flood in spring; the flooding reaches the reeds."},
	{ID: "c3", DocumentID: "d2", Text: "Quarterly revenue grew by twelve percent."},
	{ID: "c4", DocumentID: "d3", Text: "The heron is a wading bird. Herons eat fish. A heron waits."},
}

func TestSearchBM25Stemming(t *testing.T) {
	ctx := context.Background()
	x, err := keyword.Open("")
	require.NoError(t, err)
	defer x.Close()
	require.NoError(t, x.Upsert(ctx, corpus))
	n, err := x.Len()
	require.NoError(t, err)
	require.Equal(t, 4, n)

	all := vector.ForDocuments("d1", "d2", "d3")
	hits, err := x.Search(ctx, "herons", 10, all)
	require.NoError(t, err)
	require.Equal(t, "c4", hits[0].ID, "more occurrences rank higher; stemming matches heron/herons")
	require.Len(t, hits, 2)

	hits, err = x.Search(ctx, "floods", 10, all)
	require.NoError(t, err)
	require.Equal(t, []string{"c2"}, ids(hits))

	hits, err = x.Search(ctx, "the", 10, all)
	require.NoError(t, err)
	require.Empty(t, hits, "stop words alone match nothing")
}

func TestFilterIsAppliedInside(t *testing.T) {
	ctx := context.Background()
	x, err := keyword.Open("")
	require.NoError(t, err)
	defer x.Close()
	require.NoError(t, x.Upsert(ctx, corpus))

	hits, err := x.Search(ctx, "heron", 1, vector.ForDocuments("d1"))
	require.NoError(t, err)
	require.Equal(t, []string{"c1"}, ids(hits), "the best overall hit (d3) is not readable, k=1 still finds d1's")

	hits, err = x.Search(ctx, "heron", 10, vector.Filter{})
	require.NoError(t, err)
	require.Empty(t, hits)
}

func TestDeleteAndPersistence(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kw.bleve")
	x, err := keyword.Open(path)
	require.NoError(t, err)
	require.NoError(t, x.Upsert(ctx, corpus))
	require.NoError(t, x.Delete(ctx, []string{"c4", "missing"}))
	require.NoError(t, x.Close())

	x, err = keyword.Open(path)
	require.NoError(t, err)
	defer x.Close()
	n, err := x.Len()
	require.NoError(t, err)
	require.Equal(t, 3, n)
	hits, err := x.Search(ctx, "heron", 10, vector.ForDocuments("d1", "d3"))
	require.NoError(t, err)
	require.Equal(t, []string{"c1"}, ids(hits))
}

func ids(hits []vector.Hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.ID
	}
	return out
}
