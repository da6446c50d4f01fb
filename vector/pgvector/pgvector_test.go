package pgvector_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/storage/postgres"
	"github.com/penny-dev/penny/storage/postgres/pgtest"
	"github.com/penny-dev/penny/vector"
	"github.com/penny-dev/penny/vector/pgvector"
	"github.com/penny-dev/penny/vector/vectortest"
)

// pool connects to PGlite (PostgreSQL 17 with pgvector) and migrates it.
func pool(t *testing.T) *pgxpool.Pool {
	url := pgtest.PGlite(t)
	ctx := context.Background()
	_, err := postgres.Migrate(ctx, url)
	require.NoError(t, err)
	p, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p
}

func TestConformance(t *testing.T) {
	p := pool(t)
	n := 0
	vectortest.Run(t, func(t *testing.T, dim int) vector.Index {
		n++ // a table per test: a model name per test
		x, err := pgvector.Open(context.Background(), p, fmt.Sprintf("test-model-%s-%d", t.Name(), n), dim)
		require.NoError(t, err)
		return x
	})
}

func TestOneDimensionPerModel(t *testing.T) {
	p := pool(t)
	ctx := context.Background()
	_, err := pgvector.Open(ctx, p, "dims-model", 4)
	require.NoError(t, err)
	_, err = pgvector.Open(ctx, p, "dims-model", 4)
	require.NoError(t, err, "opening again is fine")
	_, err = pgvector.Open(ctx, p, "dims-model", 8)
	require.ErrorContains(t, err, "4-dimensional", "a model's table keeps its dimension")
}

func TestKeywords(t *testing.T) {
	p := pool(t)
	ctx := context.Background()
	k := pgvector.NewKeywords(p)
	require.NoError(t, k.Clear(ctx))
	require.NoError(t, k.Upsert(ctx, []vector.Text{
		{ID: "c1", DocumentID: "herons", Text: "Grey herons nest in colonies called heronries, high in tall trees."},
		{ID: "c2", DocumentID: "herons", Text: "The grey heron hunts fish and frogs in shallow water."},
		{ID: "c3", DocumentID: "finance", Text: "Revenue grew by twelve percent; the colonies office stayed flat."},
	}))
	n, err := k.Len()
	require.NoError(t, err)
	require.Equal(t, 3, n)

	all := vector.ForDocuments("herons", "finance")
	hits, err := k.Search(ctx, "Where do grey herons nest?", 5, all)
	require.NoError(t, err)
	require.NotEmpty(t, hits)
	require.Equal(t, "c1", hits[0].ID, "stemming: herons/heron, nest; the passage with most words first")

	hits, err = k.Search(ctx, "colonies", 5, vector.ForDocuments("finance"))
	require.NoError(t, err)
	require.Equal(t, []string{"c3"}, []string{hits[0].ID}, "the filter applies before ranking")
	require.Len(t, hits, 1)

	hits, err = k.Search(ctx, "colonies", 5, vector.Filter{})
	require.NoError(t, err)
	require.Empty(t, hits, "the zero filter matches nothing")
	hits, err = k.Search(ctx, "?! '&|", 5, all)
	require.NoError(t, err)
	require.Empty(t, hits, "punctuation is no query, and no injection into to_tsquery")

	require.NoError(t, k.Upsert(ctx, []vector.Text{{ID: "c1", DocumentID: "herons", Text: "Replaced text about owls."}}))
	hits, err = k.Search(ctx, "owls", 5, all)
	require.NoError(t, err)
	require.Equal(t, "c1", hits[0].ID)
	require.NoError(t, k.Delete(ctx, []string{"c1", "unknown"}))
	n, err = k.Len()
	require.NoError(t, err)
	require.Equal(t, 2, n)
}
