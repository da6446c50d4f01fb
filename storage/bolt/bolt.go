// Package bolt is the embedded storage backend: one bbolt file in the data
// directory. Records are JSON values in buckets keyed by id; secondary
// indexes are "parent/child" keys in their own buckets so that prefix scans
// answer per-user queries. Vectors are stored apart from chunk text as
// little-endian float32 bytes.
//
// bbolt allows one writer at a time and any number of readers; no read
// transaction is held while writing or while streaming a response.
package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/penny-dev/penny/migrations"
	"github.com/penny-dev/penny/storage"
)

var (
	bMeta          = []byte("meta")
	bUsers         = []byte("users")
	bUsersEmail    = []byte("users_email")
	bInvites       = []byte("invites")
	bRefresh       = []byte("refresh_tokens")
	bRefreshFamily = []byte("refresh_family")
	bAPIKeys       = []byte("api_keys")
	bAPIKeysUser   = []byte("api_keys_user")
	bChats         = []byte("chats")
	bChatsUser     = []byte("chats_user")
	bMessages      = []byte("messages")
	bMessagesID    = []byte("messages_id")
	bDocuments     = []byte("documents")
	bDocsOwner     = []byte("documents_owner")
	bDocsShared    = []byte("documents_shared")
	bChunks        = []byte("chunks")
	bChunksDoc     = []byte("chunks_document")
	bVectors       = []byte("vectors")
	bLedger        = []byte("ledger")
	bIngestJobs    = []byte("ingest_jobs")
	bSettings      = []byte("settings")

	allBuckets = [][]byte{bMeta, bUsers, bUsersEmail, bInvites, bRefresh, bRefreshFamily,
		bAPIKeys, bAPIKeysUser, bChats, bChatsUser, bMessages, bMessagesID, bDocuments, bDocsOwner, bDocsShared,
		bChunks, bChunksDoc, bVectors, bLedger, bSettings, bIngestJobs}

	keySchemaVersion = []byte("schema_version")
)

// ErrSchemaTooNew means the file was written by a newer penny.
var ErrSchemaTooNew = errors.New("bolt: data was written by a newer penny")

// ErrInUse means another process (a running penny serve) holds the file.
var ErrInUse = errors.New("in use by another penny process")

// Store is the bbolt-backed storage.Store.
type Store struct {
	db   *bbolt.DB
	docs *docMemo // decoded documents, for the listings every question makes

	ledgerMu     sync.RWMutex // guards ledgerClosed against sends on a closed queue
	ledgerClosed bool
	ledgerQ      chan ledgerReq
	ledgerDone   chan struct{}
}

// lockTimeout is how long opening waits for another process's file lock.
const lockTimeout = time.Second

// Options tune Open. The zero value is usable.
type Options struct {
	// LockTimeout is how long Open waits for another process to release
	// the file. Default 1s.
	LockTimeout time.Duration
	// InitialMmapSize avoids remapping while the file grows. Default 64 MiB.
	InitialMmapSize int
	// ReadOnly opens an existing file for reading only (doctor, restore
	// checks): nothing is created or upgraded, every write fails.
	ReadOnly bool
}

// Open opens (creating if needed) the store at path, records the schema
// version in a new file, and refuses a file written by a newer penny.
func Open(path string, opts Options) (*Store, error) {
	if opts.LockTimeout == 0 {
		opts.LockTimeout = lockTimeout
	}
	if opts.InitialMmapSize == 0 {
		opts.InitialMmapSize = 64 << 20
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("bolt: create dir: %w", err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout:         opts.LockTimeout,
		InitialMmapSize: opts.InitialMmapSize,
		FreelistType:    bbolt.FreelistMapType,
		ReadOnly:        opts.ReadOnly,
	})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("bolt: %s is %w", path, ErrInUse)
		}
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	s := &Store{db: db, docs: newDocMemo(), ledgerQ: make(chan ledgerReq, maxLedgerBatch), ledgerDone: make(chan struct{})}
	migrate := s.migrate
	if opts.ReadOnly {
		migrate = s.checkVersion
	}
	if err := migrate(); err != nil {
		_ = db.Close()
		return nil, err
	}
	go s.ledgerWriter()
	return s, nil
}

// migrate creates the buckets and checks or records the schema version.
func (s *Store) migrate() error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("bolt: create bucket %s: %w", name, err)
			}
		}
		meta := tx.Bucket(bMeta)
		raw := meta.Get(keySchemaVersion)
		if raw == nil {
			return meta.Put(keySchemaVersion, []byte(strconv.Itoa(migrations.BoltSchemaVersion)))
		}
		v, err := strconv.Atoi(string(raw))
		if err != nil {
			return fmt.Errorf("bolt: bad schema version %q", raw)
		}
		if v > migrations.BoltSchemaVersion {
			return fmt.Errorf("%w (schema %d, this build knows %d): upgrade penny", ErrSchemaTooNew, v, migrations.BoltSchemaVersion)
		}
		// Upgrade steps for v < BoltSchemaVersion go here, one per version.
		return nil
	})
}

// checkVersion refuses a file without penny's schema or from a newer
// penny, without writing.
func (s *Store) checkVersion() error {
	return s.db.View(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bMeta)
		if meta == nil {
			return errors.New("bolt: not a penny store (no meta bucket)")
		}
		v, err := strconv.Atoi(string(meta.Get(keySchemaVersion)))
		if err != nil {
			return fmt.Errorf("bolt: bad schema version %q", meta.Get(keySchemaVersion))
		}
		if v > migrations.BoltSchemaVersion {
			return fmt.Errorf("%w (schema %d, this build knows %d): upgrade penny", ErrSchemaTooNew, v, migrations.BoltSchemaVersion)
		}
		return nil
	})
}

// SchemaVersion reports the recorded schema version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		v, err = strconv.Atoi(string(tx.Bucket(bMeta).Get(keySchemaVersion)))
		return err
	})
	return v, err
}

// Close finishes pending ledger writes and closes the file.
func (s *Store) Close() error {
	s.ledgerMu.Lock()
	if !s.ledgerClosed {
		s.ledgerClosed = true
		close(s.ledgerQ)
	}
	s.ledgerMu.Unlock()
	<-s.ledgerDone
	return s.db.Close()
}

// DB exposes the underlying handle for backups (Tx.WriteTo).
func (s *Store) DB() *bbolt.DB { return s.db }

// ---- helpers ----

func get[T any](b *bbolt.Bucket, key string) (T, error) {
	var v T
	raw := b.Get([]byte(key))
	if raw == nil {
		return v, storage.ErrNotFound
	}
	return decode[T](key, raw)
}

func decode[T any](key string, raw []byte) (T, error) {
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("bolt: decode %s: %w", key, err)
	}
	return v, nil
}

func put(b *bbolt.Bucket, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("bolt: encode %s: %w", key, err)
	}
	return b.Put([]byte(key), raw)
}

// pair is the secondary-index key "parent/child".
func pair(parent, child string) []byte { return []byte(parent + "/" + child) }

// children calls fn with the child part of every "parent/child" key.
func children(b *bbolt.Bucket, parent string, fn func(child string) error) error {
	prefix := []byte(parent + "/")
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if err := fn(string(k[len(prefix):])); err != nil {
			return err
		}
	}
	return nil
}

func encodeVector(v []float32) []byte {
	out := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(f))
	}
	return out
}

func decodeVector(raw []byte) []float32 {
	v := make([]float32, len(raw)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return v
}

var _ storage.Store = (*Store)(nil)
