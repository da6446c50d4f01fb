package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/penny-dev/penny/storage"
)

// everyone is the reader of documents shared with every user.
const everyone = "*"

// readable is the condition "user $1 may read document d".
const readable = `(d.owner_id = $1 OR EXISTS (SELECT 1 FROM document_readers r WHERE r.document_id = d.id AND r.reader IN ($1, '*')))`

func insertDocuments(ctx context.Context, q querier, docs []storage.Document) error {
	for _, d := range docs {
		data, err := encode(d)
		if err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `INSERT INTO documents (id, owner_id, data) VALUES ($1, $2, $3)`, d.ID, d.OwnerID, data); err != nil {
			return mapErr(err, "document "+d.ID)
		}
	}
	return nil
}

func insertChunks(ctx context.Context, q querier, chunks []storage.Chunk) error {
	for _, c := range chunks {
		vec := encodeVector(c.Vector)
		c.Vector = nil
		data, err := encode(c)
		if err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `INSERT INTO chunks (id, document_id, data, vector) VALUES ($1, $2, $3, $4)`, c.ID, c.DocumentID, data, vec); err != nil {
			return mapErr(err, "chunk "+c.ID)
		}
	}
	return nil
}

// CreateDocuments stores documents and chunks in one transaction.
func (s *Store) CreateDocuments(ctx context.Context, docs []storage.Document, chunks []storage.Chunk) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := insertDocuments(ctx, tx, docs); err != nil {
			return err
		}
		return insertChunks(ctx, tx, chunks)
	})
}

// DocumentByID returns a document the user may read.
func (s *Store) DocumentByID(ctx context.Context, userID, id string) (storage.Document, error) {
	return one[storage.Document](ctx, s.pool, "document", `SELECT d.data FROM documents d WHERE d.id = $2 AND `+readable, userID, id)
}

// ReadableDocuments returns the user's own and shared documents, newest first.
func (s *Store) ReadableDocuments(ctx context.Context, userID string) ([]storage.Document, error) {
	return all[storage.Document](ctx, s.pool, "documents", `SELECT d.data FROM documents d WHERE `+readable+` ORDER BY d.id DESC`, userID)
}

// ListDocuments returns the owner's documents, newest first.
func (s *Store) ListDocuments(ctx context.Context, ownerID string) ([]storage.Document, error) {
	return all[storage.Document](ctx, s.pool, "documents", `SELECT data FROM documents WHERE owner_id = $1 ORDER BY id DESC`, ownerID)
}

func ownedDocument(ctx context.Context, tx pgx.Tx, ownerID, id string) (storage.Document, error) {
	return one[storage.Document](ctx, tx, "document", `SELECT data FROM documents WHERE id = $1 AND owner_id = $2 FOR UPDATE`, id, ownerID)
}

// ShareDocument replaces the document's readers.
func (s *Store) ShareDocument(ctx context.Context, ownerID, id string, userIDs []string, shareAll bool) (d storage.Document, err error) {
	err = s.tx(ctx, func(tx pgx.Tx) error {
		if d, err = ownedDocument(ctx, tx, ownerID, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM document_readers WHERE document_id = $1`, id); err != nil {
			return mapErr(err, "readers")
		}
		d.SharedWith, d.SharedAll = nil, shareAll
		readers := []string{}
		for _, u := range userIDs {
			if u == ownerID || u == "" {
				continue
			}
			d.SharedWith = append(d.SharedWith, u)
			readers = append(readers, u)
		}
		if shareAll {
			readers = append(readers, everyone)
		}
		for _, r := range readers {
			if r != everyone {
				var known bool
				if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)`, r).Scan(&known); err != nil {
					return mapErr(err, "reader")
				}
				if !known {
					return mapErr(pgx.ErrNoRows, "share with unknown user "+r)
				}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO document_readers (document_id, reader) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, r); err != nil {
				return mapErr(err, "reader")
			}
		}
		return writeRecord(ctx, tx, "document", `UPDATE documents SET data = $2 WHERE id = $1`, d, id)
	})
	return d, err
}

// DeleteDocument removes the owner's document, its chunks, readers and job,
// and returns the removed chunk ids.
func (s *Store) DeleteDocument(ctx context.Context, ownerID, id string) ([]string, error) {
	var removed []string
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := ownedDocument(ctx, tx, ownerID, id); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id FROM chunks WHERE document_id = $1 ORDER BY id`, id)
		if err != nil {
			return mapErr(err, "chunks")
		}
		if removed, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return mapErr(err, "chunks")
		}
		_, err = tx.Exec(ctx, `DELETE FROM documents WHERE id = $1`, id) // cascades
		return mapErr(err, "document")
	})
	return removed, err
}

func scanChunk(row pgx.Row) (storage.Chunk, error) {
	var raw, vec []byte
	var c storage.Chunk
	if err := row.Scan(&raw, &vec); err != nil {
		return c, mapErr(err, "chunk")
	}
	if err := decodeJSON(raw, &c); err != nil {
		return c, err
	}
	c.Vector = decodeVector(vec)
	return c, nil
}

// ChunksByID returns the chunks that exist among ids, in the order of ids.
func (s *Store) ChunksByID(ctx context.Context, ids []string) ([]storage.Chunk, error) {
	rows, err := s.pool.Query(ctx, `SELECT data, vector FROM chunks WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, mapErr(err, "chunks")
	}
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Chunk, error) { return scanChunk(r) })
	if err != nil {
		return nil, err
	}
	byID := make(map[string]storage.Chunk, len(found))
	for _, c := range found {
		byID[c.ID] = c
	}
	out := make([]storage.Chunk, 0, len(ids))
	for _, id := range ids {
		if c, ok := byID[id]; ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// ChunkByID returns one chunk of a document the user may read.
func (s *Store) ChunkByID(ctx context.Context, userID, documentID, chunkID string) (storage.Chunk, error) {
	return scanChunk(s.pool.QueryRow(ctx, `SELECT c.data, c.vector FROM chunks c JOIN documents d ON d.id = c.document_id
		WHERE c.id = $2 AND c.document_id = $3 AND `+readable, userID, chunkID, documentID))
}

// EachChunk calls fn for every chunk with its vector, in id order.
func (s *Store) EachChunk(ctx context.Context, fn func(storage.Chunk) error) error {
	rows, err := s.pool.Query(ctx, `SELECT data, vector FROM chunks ORDER BY id`)
	if err != nil {
		return mapErr(err, "chunks")
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanChunk(rows)
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return mapErr(rows.Err(), "chunks")
}

// CountChunks is the number of chunks.
func (s *Store) CountChunks(ctx context.Context) (n int, err error) {
	err = s.pool.QueryRow(ctx, `SELECT count(*) FROM chunks`).Scan(&n)
	return n, mapErr(err, "count chunks")
}

// EachChunkID calls fn with every chunk id.
func (s *Store) EachChunkID(ctx context.Context, fn func(string) error) error {
	rows, err := s.pool.Query(ctx, `SELECT id FROM chunks ORDER BY id`)
	if err != nil {
		return mapErr(err, "chunk ids")
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return mapErr(err, "chunk ids")
		}
		if err := fn(id); err != nil {
			return err
		}
	}
	return mapErr(rows.Err(), "chunk ids")
}

// EnqueueDocuments stores queued documents and their jobs together.
func (s *Store) EnqueueDocuments(ctx context.Context, docs []storage.Document, jobs []storage.IngestJob) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := insertDocuments(ctx, tx, docs); err != nil {
			return err
		}
		for _, j := range jobs {
			if err := putJob(ctx, tx, j, true); err != nil {
				return err
			}
		}
		return nil
	})
}

func putJob(ctx context.Context, q querier, j storage.IngestJob, insert bool) error {
	data, err := encode(j)
	if err != nil {
		return err
	}
	sql := `UPDATE ingest_jobs SET next_at = $2, lease_until = $3, created_at = $4, data = $5 WHERE document_id = $1`
	if insert {
		sql = `INSERT INTO ingest_jobs (document_id, next_at, lease_until, created_at, data) VALUES ($1, $2, $3, $4, $5)`
	}
	_, err = q.Exec(ctx, sql, j.DocumentID, j.NextAt, j.LeaseUntil, j.CreatedAt, data)
	return mapErr(err, "ingest job "+j.DocumentID)
}

// ClaimIngestJob leases the oldest due job. Replicas never claim the same
// job: the row is locked, and locked rows are skipped.
func (s *Store) ClaimIngestJob(ctx context.Context, now, leaseUntil time.Time) (job storage.IngestJob, ok bool, err error) {
	err = s.tx(ctx, func(tx pgx.Tx) error {
		job, err = one[storage.IngestJob](ctx, tx, "ingest job", `SELECT data FROM ingest_jobs
			WHERE next_at <= $1 AND lease_until <= $1 ORDER BY created_at, document_id LIMIT 1 FOR UPDATE SKIP LOCKED`, now)
		if err != nil {
			if isNotFound(err) {
				return nil
			}
			return err
		}
		job.LeaseUntil, ok = leaseUntil, true
		return putJob(ctx, tx, job, false)
	})
	return job, ok, err
}

// updateDocument changes a document in the transaction.
func updateDocument(ctx context.Context, tx pgx.Tx, id string, fn func(*storage.Document)) error {
	d, err := one[storage.Document](ctx, tx, "document", `SELECT data FROM documents WHERE id = $1 FOR UPDATE`, id)
	if err != nil {
		return err
	}
	fn(&d)
	return writeRecord(ctx, tx, "document", `UPDATE documents SET data = $2 WHERE id = $1`, d, id)
}

// SetDocumentStatus records status, progress and error.
func (s *Store) SetDocumentStatus(ctx context.Context, id, status string, p storage.Progress, errMsg string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		return updateDocument(ctx, tx, id, func(d *storage.Document) {
			d.Status, d.Error, d.UpdatedAt = status, errMsg, time.Now().UTC()
			d.Progress = nil
			if p.Total > 0 {
				d.Progress = &p
			}
		})
	})
}

func lockJob(ctx context.Context, tx pgx.Tx, id string) (storage.IngestJob, error) {
	return one[storage.IngestJob](ctx, tx, "ingest job", `SELECT data FROM ingest_jobs WHERE document_id = $1 FOR UPDATE`, id)
}

// CompleteIngest stores chunks, marks the document ready, deletes the job.
func (s *Store) CompleteIngest(ctx context.Context, id string, pages int, chunks []storage.Chunk) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := lockJob(ctx, tx, id); err != nil {
			return err
		}
		if err := insertChunks(ctx, tx, chunks); err != nil {
			return err
		}
		if err := updateDocument(ctx, tx, id, func(d *storage.Document) {
			d.Status, d.Error, d.Progress, d.Chunks, d.Pages, d.UpdatedAt = storage.DocumentReady, "", nil, len(chunks), pages, time.Now().UTC()
		}); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM ingest_jobs WHERE document_id = $1`, id)
		return mapErr(err, "ingest job")
	})
}

// RetryIngest releases the job for a later attempt.
func (s *Store) RetryIngest(ctx context.Context, id string, attempts int, nextAt time.Time, errMsg string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		j, err := lockJob(ctx, tx, id)
		if err != nil {
			return err
		}
		j.Attempts, j.NextAt, j.LeaseUntil = attempts, nextAt, time.Time{}
		if err := putJob(ctx, tx, j, false); err != nil {
			return err
		}
		return updateDocument(ctx, tx, id, func(d *storage.Document) { d.Error = errMsg })
	})
}

// FailIngest marks the document failed and deletes its job.
func (s *Store) FailIngest(ctx context.Context, id, reason string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := updateDocument(ctx, tx, id, func(d *storage.Document) {
			d.Status, d.Error, d.Progress, d.UpdatedAt = storage.DocumentFailed, reason, nil, time.Now().UTC()
		}); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM ingest_jobs WHERE document_id = $1`, id)
		return mapErr(err, "ingest job")
	})
}

// ReleaseIngestLeases frees every lease. Only a lone process may call it
// (the embedded mode's start); replicas let leases expire instead, since
// another replica may be working on a leased job.
func (s *Store) ReleaseIngestLeases(ctx context.Context) error {
	zero, err := encode(time.Time{})
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `UPDATE ingest_jobs SET lease_until = $1, data = jsonb_set(data, '{leaseUntil}', $2::jsonb)
		WHERE lease_until > $1`, time.Time{}, zero)
	return mapErr(err, "release leases")
}
