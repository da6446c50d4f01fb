package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/oklog/ulid/v2"
	bbolt "go.etcd.io/bbolt"

	"github.com/penny-dev/penny/storage"
)

// AppendLedger stores e under a key that sorts by e.Time (a ULID whose
// time part is e.Time), so range reads are cursor seeks. It returns once
// the entry is durable. Concurrent appends are group-committed: one writer
// puts every entry waiting in the queue in one transaction (one fsync), so
// under load the ledger costs one fsync per batch, not per model call, and
// a lone call waits for no timer.
func (s *Store) AppendLedger(ctx context.Context, e storage.LedgerEntry) error {
	key, err := ledgerKey(e)
	if err != nil {
		return err
	}
	req := ledgerReq{key: key, entry: e, done: make(chan error, 1)}
	s.ledgerMu.RLock()
	if s.ledgerClosed {
		s.ledgerMu.RUnlock()
		return fmt.Errorf("bolt: store is closed")
	}
	s.ledgerQ <- req
	s.ledgerMu.RUnlock()
	return <-req.done
}

type ledgerReq struct {
	key   []byte
	entry storage.LedgerEntry
	done  chan error
}

// maxLedgerBatch caps one group commit.
const maxLedgerBatch = 512

// ledgerWriter commits queued entries in batches until the queue closes.
func (s *Store) ledgerWriter() {
	defer close(s.ledgerDone)
	for first := range s.ledgerQ {
		batch := []ledgerReq{first}
	drain:
		for len(batch) < maxLedgerBatch {
			select {
			case r, ok := <-s.ledgerQ:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		errs := make([]error, len(batch))
		err := s.db.Update(func(tx *bbolt.Tx) error {
			b := tx.Bucket(bLedger)
			for i, r := range batch {
				if b.Get(r.key) != nil {
					errs[i] = storage.ErrConflict
					continue
				}
				if err := put(b, string(r.key), r.entry); err != nil {
					return err
				}
			}
			return nil
		})
		for i, r := range batch {
			if err != nil {
				r.done <- err
			} else {
				r.done <- errs[i]
			}
		}
	}
}

// ledgerKey is "<ms timestamp ULID prefix><entry id>": ordered by time,
// unique by id.
func ledgerKey(e storage.LedgerEntry) ([]byte, error) {
	if e.ID == "" {
		return nil, fmt.Errorf("bolt: ledger entry without id")
	}
	return append(timePrefix(e.Time.UnixMilli()), e.ID...), nil
}

func timePrefix(ms int64) []byte {
	var id ulid.ULID
	_ = id.SetTime(uint64(max(ms, 0)))
	return []byte(id.String()[:10])
}

// EachLedger calls fn for entries in [From, To), in time order.
func (s *Store) EachLedger(ctx context.Context, f storage.LedgerFilter, fn func(storage.LedgerEntry) error) error {
	return s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bLedger).Cursor()
		start := timePrefix(f.From.UnixMilli())
		for k, v := c.Seek(start); k != nil; k, v = c.Next() {
			if !f.To.IsZero() && bytes.Compare(k[:10], timePrefix(f.To.UnixMilli())) >= 0 {
				break
			}
			var e storage.LedgerEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("bolt: decode ledger: %w", err)
			}
			if e.Time.Before(f.From) || (!f.To.IsZero() && !e.Time.Before(f.To)) {
				continue
			}
			if f.UserID != "" && e.UserID != f.UserID {
				continue
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	})
}

// GetSetting returns a setting's value.
func (s *Store) GetSetting(ctx context.Context, key string) (v []byte, err error) {
	err = s.db.View(func(tx *bbolt.Tx) error {
		raw := tx.Bucket(bSettings).Get([]byte(key))
		if raw == nil {
			return storage.ErrNotFound
		}
		v = bytes.Clone(raw)
		return nil
	})
	return v, err
}

// PutSetting stores a setting.
func (s *Store) PutSetting(ctx context.Context, key string, value []byte) error {
	return s.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bSettings).Put([]byte(key), value) })
}

// PutSettingIfAbsent stores value unless key is set; returns what is set.
func (s *Store) PutSettingIfAbsent(ctx context.Context, key string, value []byte) (v []byte, err error) {
	err = s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bSettings)
		if raw := b.Get([]byte(key)); raw != nil {
			v = bytes.Clone(raw)
			return nil
		}
		v = bytes.Clone(value)
		return b.Put([]byte(key), value)
	})
	return v, err
}
