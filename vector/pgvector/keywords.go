package pgvector

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/penny-dev/penny/vector"
)

// Keywords is a vector.KeywordIndex on PostgreSQL full text search (table
// chunk_texts, migration 3), ranked by ts_rank_cd.
type Keywords struct{ pool *pgxpool.Pool }

var _ vector.KeywordIndex = (*Keywords)(nil)

// NewKeywords returns the keyword index in the database of pool.
func NewKeywords(pool *pgxpool.Pool) *Keywords { return &Keywords{pool: pool} }

// Upsert indexes docs, replacing those with the same id.
func (k *Keywords) Upsert(ctx context.Context, docs []vector.Text) error {
	return pgx.BeginFunc(ctx, k.pool, func(tx pgx.Tx) error {
		for _, d := range docs {
			_, err := tx.Exec(ctx, `INSERT INTO chunk_texts (chunk_id, document_id, tsv) VALUES ($1, $2, to_tsvector('english', $3))
				ON CONFLICT (chunk_id) DO UPDATE SET document_id = excluded.document_id, tsv = excluded.tsv`, d.ID, d.DocumentID, d.Text)
			if err != nil {
				return fmt.Errorf("pgvector: index text %s: %w", d.ID, err)
			}
		}
		return nil
	})
}

// Delete removes ids.
func (k *Keywords) Delete(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := k.pool.Exec(ctx, `DELETE FROM chunk_texts WHERE chunk_id = ANY($1)`, ids); err != nil {
		return fmt.Errorf("pgvector: delete texts: %w", err)
	}
	return nil
}

var word = regexp.MustCompile(`[\p{L}\p{N}]+`)

// orQuery turns a question into a tsquery that matches any of its words
// (a question rarely has all its words in the passage that answers it);
// the ranking rewards passages with more of them.
func orQuery(text string) string {
	seen := map[string]bool{}
	var terms []string
	for _, w := range word.FindAllString(strings.ToLower(text), -1) {
		if !seen[w] && len(terms) < 64 {
			seen[w] = true
			terms = append(terms, w)
		}
	}
	return strings.Join(terms, " | ")
}

// Search returns up to n chunks of the filter's documents that share words
// with query, best first.
func (k *Keywords) Search(ctx context.Context, query string, n int, f vector.Filter) ([]vector.Hit, error) {
	q := orQuery(query)
	if q == "" || n <= 0 || f.Empty() {
		return nil, nil
	}
	rows, err := k.pool.Query(ctx, `SELECT chunk_id, ts_rank_cd(tsv, q) AS score
		FROM chunk_texts, to_tsquery('english', $1) q
		WHERE tsv @@ q AND document_id = ANY($2)
		ORDER BY score DESC, chunk_id LIMIT $3`, q, documents(f), n)
	if err != nil {
		return nil, fmt.Errorf("pgvector: keyword search: %w", err)
	}
	hits, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (vector.Hit, error) {
		var h vector.Hit
		err := r.Scan(&h.ID, &h.Score)
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("pgvector: keyword search: %w", err)
	}
	return hits, nil
}

// Len is the number of indexed chunks.
func (k *Keywords) Len() (int, error) {
	var n int
	if err := k.pool.QueryRow(context.Background(), `SELECT count(*) FROM chunk_texts`).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgvector: count texts: %w", err)
	}
	return n, nil
}

// Clear empties the index (a rebuild starts from nothing).
func (k *Keywords) Clear(ctx context.Context) error {
	if _, err := k.pool.Exec(ctx, `TRUNCATE chunk_texts`); err != nil {
		return fmt.Errorf("pgvector: clear texts: %w", err)
	}
	return nil
}

// Close does nothing: the pool belongs to the store.
func (k *Keywords) Close() error { return nil }
