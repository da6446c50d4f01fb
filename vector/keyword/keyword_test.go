package keyword_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2"
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

// TestLargeFiltersGiveTheSameTopK: a filter of many documents is applied
// to the ranked hits (fast) and falls back to the pre-filter when the
// allowed documents rank too low; either way the result is exactly the
// top k of the allowed documents, as a full ranking filtered by hand says.
func TestLargeFiltersGiveTheSameTopK(t *testing.T) {
	ctx := context.Background()
	x, err := keyword.Open("")
	require.NoError(t, err)
	defer x.Close()
	var texts []vector.Text
	var docs []string
	for d := range 500 {
		docs = append(docs, fmt.Sprintf("d%03d", d))
		for c := range 10 {
			// Lower documents say "heron" more often, so they rank higher.
			text := strings.Repeat("heron ", 1+(500-d)/50) + fmt.Sprintf("note %d of report %d about the river", c, d)
			texts = append(texts, vector.Text{ID: fmt.Sprintf("d%03d-c%d", d, c), DocumentID: docs[d], Text: text})
		}
	}
	require.NoError(t, x.Upsert(ctx, texts))
	everything, err := x.Search(ctx, "heron river", len(texts), vector.ForDocuments(docs...))
	require.NoError(t, err)
	require.Len(t, everything, len(texts))

	for name, allowed := range map[string][]string{
		"many, ranked high (read from the ranked hits)": docs[:100],
		"many, ranked low (past the depth: pre-filter)": docs[430:],
		"few (pre-filter)": docs[200:210],
	} {
		f := vector.ForDocuments(allowed...)
		var want []string
		for _, h := range everything {
			if f.Allows(h.ID[:4]) && len(want) < 20 {
				want = append(want, h.ID)
			}
		}
		got, err := x.Search(ctx, "heron river", 20, f)
		require.NoError(t, err, name)
		require.Equal(t, want, ids(got), name)
	}
}

// TestOlderIndexIsRefused: an index whose mapping does not store the
// document field (written by an older penny) cannot be filtered after
// ranking; Open says so, and penny rebuilds it from the store.
func TestOlderIndexIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.bleve")
	im := bleve.NewIndexMapping()
	dm := bleve.NewDocumentStaticMapping()
	doc := bleve.NewTextFieldMapping()
	doc.Store = false
	dm.AddFieldMappingsAt("doc", doc)
	im.DefaultMapping = dm
	idx, err := bleve.New(path, im)
	require.NoError(t, err)
	require.NoError(t, idx.Close())
	_, err = keyword.Open(path)
	require.ErrorIs(t, err, keyword.ErrOldFormat)
}
