package bolt

import (
	"context"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/penny-dev/penny/storage"
)

// exportBuckets maps each record kind to its bucket.
var exportBuckets = map[string][]byte{
	"users": bUsers, "invites": bInvites, "refresh_tokens": bRefresh, "api_keys": bAPIKeys, "chats": bChats,
	"messages": bMessages, "documents": bDocuments, "chunks": bChunks, "ingest_jobs": bIngestJobs,
	"ledger": bLedger, "settings": bSettings,
}

// Export calls fn with every record, kind by kind in storage.RecordKinds
// order, from one consistent read transaction.
func (s *Store) Export(ctx context.Context, fn func(storage.Record) error) error {
	return s.db.View(func(tx *bbolt.Tx) error {
		for _, kind := range storage.RecordKinds {
			b := tx.Bucket(exportBuckets[kind])
			if b == nil {
				return fmt.Errorf("bolt: no bucket for %s", kind)
			}
			err := b.ForEach(func(k, v []byte) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				key, err := storage.RecordKey(kind, string(k), v)
				if err != nil {
					return err
				}
				rec := storage.Record{Kind: kind, Key: key, Data: append([]byte(nil), v...)}
				if kind == "chunks" {
					if raw := tx.Bucket(bVectors).Get(k); raw != nil {
						rec.Vector = decodeVector(raw)
					}
				}
				return fn(rec)
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}
