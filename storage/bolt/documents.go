package bolt

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	bbolt "go.etcd.io/bbolt"

	"github.com/penny-dev/penny/storage"
)

// CreateDocuments stores documents and chunks in one transaction.
func (s *Store) CreateDocuments(ctx context.Context, docs []storage.Document, chunks []storage.Chunk) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		if err := insertDocuments(tx, docs); err != nil {
			return err
		}
		return insertChunks(tx, chunks)
	})
}

func insertDocuments(tx *bbolt.Tx, docs []storage.Document) error {
	db, owners := tx.Bucket(bDocuments), tx.Bucket(bDocsOwner)
	for _, d := range docs {
		if db.Get([]byte(d.ID)) != nil {
			return fmt.Errorf("bolt: document %s: %w", d.ID, storage.ErrConflict)
		}
		if err := owners.Put(pair(d.OwnerID, d.ID), nil); err != nil {
			return err
		}
		if err := put(db, d.ID, d); err != nil {
			return err
		}
	}
	return nil
}

func insertChunks(tx *bbolt.Tx, chunks []storage.Chunk) error {
	db, cb, byDoc, vb := tx.Bucket(bDocuments), tx.Bucket(bChunks), tx.Bucket(bChunksDoc), tx.Bucket(bVectors)
	for _, c := range chunks {
		if db.Get([]byte(c.DocumentID)) == nil {
			return fmt.Errorf("bolt: chunk %s of unknown document %s: %w", c.ID, c.DocumentID, storage.ErrNotFound)
		}
		if cb.Get([]byte(c.ID)) != nil {
			return fmt.Errorf("bolt: chunk %s: %w", c.ID, storage.ErrConflict)
		}
		if err := vb.Put([]byte(c.ID), encodeVector(c.Vector)); err != nil {
			return err
		}
		c.Vector = nil
		if err := put(cb, c.ID, c); err != nil {
			return err
		}
		if err := byDoc.Put(pair(c.DocumentID, c.ID), nil); err != nil {
			return err
		}
	}
	return nil
}

func ownedDocument(tx *bbolt.Tx, ownerID, id string) (storage.Document, error) {
	d, err := get[storage.Document](tx.Bucket(bDocuments), id)
	if err != nil {
		return d, err
	}
	if d.OwnerID != ownerID {
		return storage.Document{}, storage.ErrNotFound
	}
	return d, nil
}

// everyone is the sharing key of documents shared with every user.
const everyone = "*"

// readableDocument returns the document if userID owns it or it is shared
// with them or with everyone.
func readableDocument(tx *bbolt.Tx, userID, id string) (storage.Document, error) {
	d, err := get[storage.Document](tx.Bucket(bDocuments), id)
	if err != nil {
		return d, err
	}
	shared := tx.Bucket(bDocsShared)
	if d.OwnerID != userID && shared.Get(pair(userID, id)) == nil && shared.Get(pair(everyone, id)) == nil {
		return storage.Document{}, storage.ErrNotFound
	}
	return d, nil
}

// DocumentByID returns a document the user may read.
func (s *Store) DocumentByID(ctx context.Context, userID, id string) (d storage.Document, err error) {
	err = s.db.View(func(tx *bbolt.Tx) error {
		d, err = readableDocument(tx, userID, id)
		return err
	})
	return d, err
}

// ReadableDocuments returns the user's own and shared documents, newest
// first.
func (s *Store) ReadableDocuments(ctx context.Context, userID string) ([]storage.Document, error) {
	return s.documentsOf(func(tx *bbolt.Tx, add func(string) error) error {
		for _, k := range []struct {
			b      []byte
			parent string
		}{{bDocsOwner, userID}, {bDocsShared, userID}, {bDocsShared, everyone}} {
			if err := children(tx.Bucket(k.b), k.parent, add); err != nil {
				return err
			}
		}
		return nil
	})
}

// documentsOf returns the documents whose ids each calls add with (once or
// more), newest first.
func (s *Store) documentsOf(each func(tx *bbolt.Tx, add func(id string) error) error) ([]storage.Document, error) {
	out := []storage.Document{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		var ids []string
		if err := each(tx, func(id string) error {
			ids = append(ids, id)
			return nil
		}); err != nil {
			return err
		}
		slices.SortFunc(ids, func(a, b string) int { return strings.Compare(b, a) })
		for _, id := range slices.Compact(ids) {
			d, err := s.docs.get(tx, id)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// ShareDocument replaces the document's readers.
func (s *Store) ShareDocument(ctx context.Context, ownerID, id string, userIDs []string, all bool) (d storage.Document, err error) {
	err = s.db.Update(func(tx *bbolt.Tx) error {
		if d, err = ownedDocument(tx, ownerID, id); err != nil {
			return err
		}
		shared := tx.Bucket(bDocsShared)
		for _, u := range slices.Concat(d.SharedWith, []string{everyone}) {
			if err := shared.Delete(pair(u, id)); err != nil {
				return err
			}
		}
		d.SharedWith, d.SharedAll = nil, all
		for _, u := range userIDs {
			if u == ownerID || u == "" {
				continue
			}
			if tx.Bucket(bUsers).Get([]byte(u)) == nil {
				return fmt.Errorf("bolt: share with unknown user %s: %w", u, storage.ErrNotFound)
			}
			d.SharedWith = append(d.SharedWith, u)
			if err := shared.Put(pair(u, id), nil); err != nil {
				return err
			}
		}
		if all {
			if err := shared.Put(pair(everyone, id), nil); err != nil {
				return err
			}
		}
		return put(tx.Bucket(bDocuments), id, d)
	})
	return d, err
}

// ListDocuments returns the owner's documents, newest first.
func (s *Store) ListDocuments(ctx context.Context, ownerID string) ([]storage.Document, error) {
	return s.documentsOf(func(tx *bbolt.Tx, add func(string) error) error {
		return children(tx.Bucket(bDocsOwner), ownerID, add)
	})
}

// DeleteDocument removes the owner's document and its chunks.
func (s *Store) DeleteDocument(ctx context.Context, ownerID, id string) ([]string, error) {
	var removed []string
	err := s.db.Update(func(tx *bbolt.Tx) error {
		d, err := ownedDocument(tx, ownerID, id)
		if err != nil {
			return err
		}
		for _, u := range slices.Concat(d.SharedWith, []string{everyone}) {
			if err := tx.Bucket(bDocsShared).Delete(pair(u, id)); err != nil {
				return err
			}
		}
		byDoc := tx.Bucket(bChunksDoc)
		if err := children(byDoc, id, func(cid string) error {
			removed = append(removed, cid)
			return nil
		}); err != nil {
			return err
		}
		for _, cid := range removed {
			for _, del := range []struct {
				b *bbolt.Bucket
				k []byte
			}{{tx.Bucket(bChunks), []byte(cid)}, {tx.Bucket(bVectors), []byte(cid)}, {byDoc, pair(id, cid)}} {
				if err := del.b.Delete(del.k); err != nil {
					return err
				}
			}
		}
		if err := tx.Bucket(bDocsOwner).Delete(pair(ownerID, id)); err != nil {
			return err
		}
		if err := tx.Bucket(bIngestJobs).Delete([]byte(id)); err != nil {
			return err
		}
		return tx.Bucket(bDocuments).Delete([]byte(id))
	})
	return removed, err
}

func readChunk(tx *bbolt.Tx, id string) (storage.Chunk, error) {
	c, err := get[storage.Chunk](tx.Bucket(bChunks), id)
	if err != nil {
		return c, err
	}
	if raw := tx.Bucket(bVectors).Get([]byte(id)); raw != nil {
		c.Vector = decodeVector(raw)
	}
	return c, nil
}

// ChunksByID returns the chunks that exist among ids, in order.
func (s *Store) ChunksByID(ctx context.Context, ids []string) ([]storage.Chunk, error) {
	out := make([]storage.Chunk, 0, len(ids))
	err := s.db.View(func(tx *bbolt.Tx) error {
		for _, id := range ids {
			c, err := readChunk(tx, id)
			if errors.Is(err, storage.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

// ChunkByID returns one chunk of a document the user may read.
func (s *Store) ChunkByID(ctx context.Context, userID, documentID, chunkID string) (c storage.Chunk, err error) {
	err = s.db.View(func(tx *bbolt.Tx) error {
		if _, err := readableDocument(tx, userID, documentID); err != nil {
			return err
		}
		if c, err = readChunk(tx, chunkID); err != nil {
			return err
		}
		if c.DocumentID != documentID {
			return storage.ErrNotFound
		}
		return nil
	})
	return c, err
}

// EachChunk calls fn for every chunk with its vector.
func (s *Store) EachChunk(ctx context.Context, fn func(storage.Chunk) error) error {
	return s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bChunks).ForEach(func(k, _ []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			c, err := readChunk(tx, string(k))
			if err != nil {
				return err
			}
			return fn(c)
		})
	})
}

// CountChunks is the number of chunks.
func (s *Store) CountChunks(ctx context.Context) (n int, err error) {
	err = s.db.View(func(tx *bbolt.Tx) error {
		n = tx.Bucket(bChunks).Stats().KeyN
		return nil
	})
	return n, err
}

// EachChunkID calls fn with every chunk id (keys only).
func (s *Store) EachChunkID(ctx context.Context, fn func(string) error) error {
	return s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bChunks).ForEach(func(k, _ []byte) error { return fn(string(k)) })
	})
}
