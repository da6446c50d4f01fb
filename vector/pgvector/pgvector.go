// Package pgvector keeps penny's retrieval indexes in PostgreSQL for
// scale-out mode, so that every replica searches the same chunks the moment
// they are written: Index is a vector.Index on a pgvector table with an
// HNSW index (cosine), Keywords a vector.KeywordIndex on PostgreSQL full
// text search. Both apply the caller's document filter in SQL, before
// ranking, as the embedded indexes do.
package pgvector

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/penny-dev/penny/vector"
)

// Index is the vectors of one embedding model in a table of their own (a
// pgvector column has one dimension; one embedding space per index).
type Index struct {
	pool  *pgxpool.Pool
	table string
	dim   int
}

var _ vector.Index = (*Index)(nil)

// ddlLock keeps replicas from creating the same table at once.
const ddlLock = 0x76656374 // "vect"

// TableName is the table that holds model's vectors.
func TableName(model string) string {
	sum := sha256.Sum256([]byte(model))
	return "chunk_vectors_" + hex.EncodeToString(sum[:6])
}

// Open returns the index of model (dim dimensions), creating the pgvector
// extension, its table and its HNSW index on first use.
func Open(ctx context.Context, pool *pgxpool.Pool, model string, dim int) (*Index, error) {
	if dim <= 0 {
		return nil, fmt.Errorf("pgvector: %s: dimensions must be positive", model)
	}
	x := &Index{pool: pool, table: TableName(model), dim: dim}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(ddlLock)); err != nil {
			return err
		}
		for _, sql := range []string{
			`CREATE EXTENSION IF NOT EXISTS vector`,
			fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
				chunk_id    text PRIMARY KEY,
				document_id text NOT NULL,
				embedding   vector(%d) NOT NULL)`, x.table, dim),
			fmt.Sprintf(`COMMENT ON TABLE %s IS %s`, x.table, quote("penny vectors of "+model)),
			fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s_hnsw ON %s USING hnsw (embedding vector_cosine_ops)`, x.table, x.table),
			fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s_document ON %s (document_id)`, x.table, x.table),
		} {
			if _, err := tx.Exec(ctx, sql); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgvector: open %s: %w", model, err)
	}
	var have int
	err = pool.QueryRow(ctx, `SELECT atttypmod FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'embedding'`, x.table).Scan(&have)
	if err != nil {
		return nil, fmt.Errorf("pgvector: open %s: %w", model, err)
	}
	if have != dim {
		return nil, fmt.Errorf("pgvector: %s holds %d-dimensional vectors, not %d", x.table, have, dim)
	}
	return x, nil
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// literal is a vector in pgvector's text form.
func literal(v []float32) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, f := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatFloat(float64(f), 'g', -1, 32))
	}
	b.WriteByte(']')
	return b.String()
}

// Upsert adds items, replacing those with the same id, in one transaction.
func (x *Index) Upsert(ctx context.Context, items []vector.Item) error {
	for _, it := range items {
		if len(it.Vector) != x.dim {
			return fmt.Errorf("pgvector: item %s has %d dimensions, the index %d", it.ID, len(it.Vector), x.dim)
		}
	}
	return pgx.BeginFunc(ctx, x.pool, func(tx pgx.Tx) error {
		for _, it := range items {
			_, err := tx.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (chunk_id, document_id, embedding) VALUES ($1, $2, $3::vector)
				ON CONFLICT (chunk_id) DO UPDATE SET document_id = excluded.document_id, embedding = excluded.embedding`, x.table),
				it.ID, it.DocumentID, literal(it.Vector))
			if err != nil {
				return fmt.Errorf("pgvector: upsert %s: %w", it.ID, err)
			}
		}
		return nil
	})
}

// Delete removes ids.
func (x *Index) Delete(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := x.pool.Exec(ctx, fmt.Sprintf(`DELETE FROM %s WHERE chunk_id = ANY($1)`, x.table), ids)
	if err != nil {
		return fmt.Errorf("pgvector: delete: %w", err)
	}
	return nil
}

// Search returns up to k items of the filter's documents by cosine
// similarity. The HNSW scan is iterative (pgvector 0.8), so a narrow filter
// still gets k results when the documents have them.
func (x *Index) Search(ctx context.Context, query []float32, k int, f vector.Filter) ([]vector.Hit, error) {
	if len(query) != x.dim {
		return nil, fmt.Errorf("pgvector: query has %d dimensions, the index %d", len(query), x.dim)
	}
	if k <= 0 || f.Empty() {
		return nil, nil
	}
	var hits []vector.Hit
	err := pgx.BeginFunc(ctx, x.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL hnsw.iterative_scan = strict_order`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT chunk_id, 1 - (embedding <=> $1::vector) FROM %s
			WHERE document_id = ANY($2) ORDER BY embedding <=> $1::vector LIMIT $3`, x.table),
			literal(query), documents(f), k)
		if err != nil {
			return err
		}
		hits, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (vector.Hit, error) {
			var h vector.Hit
			err := r.Scan(&h.ID, &h.Score)
			return h, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgvector: search: %w", err)
	}
	return hits, nil
}

// Len is the number of vectors (0 if the database cannot say).
func (x *Index) Len() int {
	var n int
	if err := x.pool.QueryRow(context.Background(), fmt.Sprintf(`SELECT count(*) FROM %s`, x.table)).Scan(&n); err != nil {
		return 0
	}
	return n
}

func documents(f vector.Filter) []string {
	out := make([]string, 0, len(f.Documents))
	for id := range f.Documents {
		out = append(out, id)
	}
	return out
}
