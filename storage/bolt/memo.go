package bolt

import (
	"bytes"
	"slices"

	lru "github.com/hashicorp/golang-lru/v2"
	bbolt "go.etcd.io/bbolt"

	"github.com/penny-dev/penny/storage"
)

// memoSize bounds how many decoded documents the store keeps.
const memoSize = 32 << 10

// docMemo keeps documents decoded next to the bytes they were decoded
// from, so reading an unchanged record again costs a byte comparison
// instead of a JSON decode. Every read compares against the bytes in the
// transaction, so a write can never leave a stale entry behind. Listing a
// user's documents (each question, upload and chat message does) decodes
// only what changed.
type docMemo struct {
	cache *lru.Cache[string, memoEntry]
}

type memoEntry struct {
	raw []byte
	doc storage.Document
}

func newDocMemo() *docMemo {
	c, _ := lru.New[string, memoEntry](memoSize) // only a size ≤ 0 fails
	return &docMemo{cache: c}
}

// get returns the document id as of tx.
func (m *docMemo) get(tx *bbolt.Tx, id string) (storage.Document, error) {
	raw := tx.Bucket(bDocuments).Get([]byte(id))
	if raw == nil {
		return storage.Document{}, storage.ErrNotFound
	}
	if e, ok := m.cache.Get(id); ok && bytes.Equal(e.raw, raw) {
		return cloneDocument(e.doc), nil
	}
	d, err := decode[storage.Document](id, raw)
	if err != nil {
		return d, err
	}
	m.cache.Add(id, memoEntry{raw: bytes.Clone(raw), doc: cloneDocument(d)})
	return d, nil
}

// cloneDocument copies what a caller could change in place.
func cloneDocument(d storage.Document) storage.Document {
	d.SharedWith = slices.Clone(d.SharedWith)
	if d.Progress != nil {
		p := *d.Progress
		d.Progress = &p
	}
	return d
}
