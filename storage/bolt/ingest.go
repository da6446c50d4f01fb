package bolt

import (
	"context"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/penny-dev/penny/storage"
)

// EnqueueDocuments stores queued documents and their jobs together.
func (s *Store) EnqueueDocuments(ctx context.Context, docs []storage.Document, jobs []storage.IngestJob) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		if err := insertDocuments(tx, docs); err != nil {
			return err
		}
		b := tx.Bucket(bIngestJobs)
		for _, j := range jobs {
			if tx.Bucket(bDocuments).Get([]byte(j.DocumentID)) == nil {
				return fmt.Errorf("bolt: job of unknown document %s: %w", j.DocumentID, storage.ErrNotFound)
			}
			if err := put(b, j.DocumentID, j); err != nil {
				return err
			}
		}
		return nil
	})
}

// ClaimIngestJob leases the oldest due job. Jobs are keyed by their
// document's id, a ULID made when the job was, so key order is age order:
// the first due job found is the oldest, and a long queue is not read
// whole for every claim.
func (s *Store) ClaimIngestJob(ctx context.Context, now, leaseUntil time.Time) (job storage.IngestJob, ok bool, err error) {
	err = s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bIngestJobs)
		c := b.Cursor()
		for k, raw := c.First(); k != nil; k, raw = c.Next() {
			j, err := decode[storage.IngestJob](string(k), raw)
			if err != nil {
				return err
			}
			if j.NextAt.After(now) || j.LeaseUntil.After(now) {
				continue
			}
			j.LeaseUntil = leaseUntil
			job, ok = j, true
			return put(b, j.DocumentID, j)
		}
		return nil
	})
	return job, ok, err
}

func updateDocument(tx *bbolt.Tx, id string, fn func(*storage.Document)) error {
	b := tx.Bucket(bDocuments)
	d, err := get[storage.Document](b, id)
	if err != nil {
		return err
	}
	fn(&d)
	return put(b, id, d)
}

// SetDocumentStatus records status, progress and error.
func (s *Store) SetDocumentStatus(ctx context.Context, id, status string, p storage.Progress, errMsg string) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		return updateDocument(tx, id, func(d *storage.Document) {
			d.Status, d.Error, d.UpdatedAt = status, errMsg, time.Now().UTC()
			d.Progress = nil
			if p.Total > 0 {
				d.Progress = &p
			}
		})
	})
}

// CompleteIngest stores chunks, marks the document ready, deletes the job.
func (s *Store) CompleteIngest(ctx context.Context, id string, pages int, chunks []storage.Chunk) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		if tx.Bucket(bIngestJobs).Get([]byte(id)) == nil {
			return fmt.Errorf("bolt: no ingest job for %s: %w", id, storage.ErrNotFound)
		}
		if err := insertChunks(tx, chunks); err != nil {
			return err
		}
		if err := updateDocument(tx, id, func(d *storage.Document) {
			d.Status, d.Error, d.Progress, d.Chunks, d.Pages, d.UpdatedAt = storage.DocumentReady, "", nil, len(chunks), pages, time.Now().UTC()
		}); err != nil {
			return err
		}
		return tx.Bucket(bIngestJobs).Delete([]byte(id))
	})
}

// RetryIngest releases the job for a later attempt.
func (s *Store) RetryIngest(ctx context.Context, id string, attempts int, nextAt time.Time, errMsg string) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bIngestJobs)
		j, err := get[storage.IngestJob](b, id)
		if err != nil {
			return err
		}
		j.Attempts, j.NextAt, j.LeaseUntil = attempts, nextAt, time.Time{}
		if err := put(b, id, j); err != nil {
			return err
		}
		return updateDocument(tx, id, func(d *storage.Document) { d.Error = errMsg })
	})
}

// FailIngest marks the document failed and deletes its job.
func (s *Store) FailIngest(ctx context.Context, id, reason string) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		if err := updateDocument(tx, id, func(d *storage.Document) {
			d.Status, d.Error, d.Progress, d.UpdatedAt = storage.DocumentFailed, reason, nil, time.Now().UTC()
		}); err != nil {
			return err
		}
		return tx.Bucket(bIngestJobs).Delete([]byte(id))
	})
}

// ReleaseIngestLeases frees every lease.
func (s *Store) ReleaseIngestLeases(ctx context.Context) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bIngestJobs)
		return b.ForEach(func(k, _ []byte) error {
			j, err := get[storage.IngestJob](b, string(k))
			if err != nil || j.LeaseUntil.IsZero() {
				return err
			}
			j.LeaseUntil = time.Time{}
			return put(b, string(k), j)
		})
	})
}
