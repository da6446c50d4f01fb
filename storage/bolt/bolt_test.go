package bolt_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	bbolt "go.etcd.io/bbolt"

	"github.com/penny-dev/penny/migrations"
	"github.com/penny-dev/penny/storage"
	"github.com/penny-dev/penny/storage/bolt"
	"github.com/penny-dev/penny/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s, err := bolt.Open(filepath.Join(t.TempDir(), "penny.db"), bolt.Options{})
		require.NoError(t, err)
		return s
	})
}

func TestSchemaVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "penny.db")
	s, err := bolt.Open(path, bolt.Options{})
	require.NoError(t, err)
	v, err := s.SchemaVersion(context.Background())
	require.NoError(t, err)
	require.Equal(t, migrations.BoltSchemaVersion, v)

	// A file from a newer penny is refused with a clear error.
	require.NoError(t, s.DB().Update(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("schema_version"), []byte("999"))
	}))
	require.NoError(t, s.Close())
	_, err = bolt.Open(path, bolt.Options{})
	require.ErrorIs(t, err, bolt.ErrSchemaTooNew)
}

func TestSecondProcessGetsClearError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "penny.db")
	s, err := bolt.Open(path, bolt.Options{})
	require.NoError(t, err)
	defer s.Close()
	_, err = bolt.Open(path, bolt.Options{LockTimeout: 50_000_000})
	require.ErrorContains(t, err, "in use by another penny process")
}

func TestReadOnlyChangesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "penny.db")
	_, err := bolt.Open(path, bolt.Options{ReadOnly: true})
	require.Error(t, err, "read-only does not create a store")
	s, err := bolt.Open(path, bolt.Options{})
	require.NoError(t, err)
	require.NoError(t, s.CreateUser(context.Background(), storage.User{ID: "u1", Email: "a@example.com", Role: storage.RoleAdmin}))
	require.NoError(t, s.Close())
	before, err := os.ReadFile(path)
	require.NoError(t, err)

	ro, err := bolt.Open(path, bolt.Options{ReadOnly: true})
	require.NoError(t, err)
	n, err := ro.CountUsers(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Error(t, ro.CreateUser(context.Background(), storage.User{ID: "u2", Email: "b@example.com"}))
	require.NoError(t, ro.Close())
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, before, after)
}

func TestCompactKeepsTheData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "penny.db")
	s, err := bolt.Open(path, bolt.Options{})
	require.NoError(t, err)
	ctx := context.Background()
	for i := range 200 {
		require.NoError(t, s.PutSetting(ctx, fmt.Sprintf("k%03d", i), bytes.Repeat([]byte("x"), 4096)))
	}
	for i := range 190 {
		require.NoError(t, s.PutSetting(ctx, fmt.Sprintf("k%03d", i), []byte("y")))
	}
	_, _, err = bolt.Compact(path)
	require.ErrorIs(t, err, bolt.ErrInUse, "not while the store is open")
	require.NoError(t, s.Close())

	before, after, err := bolt.Compact(path)
	require.NoError(t, err)
	require.Less(t, after, before)
	s, err = bolt.Open(path, bolt.Options{})
	require.NoError(t, err)
	defer s.Close()
	v, err := s.GetSetting(ctx, "k199")
	require.NoError(t, err)
	require.Len(t, v, 4096)
}

// Listings reuse decoded documents; a change by any path shows at once and
// a caller's edits to what it got never reach the next caller.
func TestDocumentListingsNeverStale(t *testing.T) {
	ctx := context.Background()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "penny.db"), bolt.Options{})
	require.NoError(t, err)
	defer s.Close()
	for _, u := range []string{"u", "v"} {
		require.NoError(t, s.CreateUser(ctx, storage.User{ID: u, Email: u + "@example.com", Role: storage.RoleMember}))
	}
	d := storage.Document{ID: storage.NewID(), OwnerID: "u", Title: "first", Status: storage.DocumentReady}
	require.NoError(t, s.CreateDocuments(ctx, []storage.Document{d}, nil))
	_, err = s.ShareDocument(ctx, "u", d.ID, []string{"v"}, false)
	require.NoError(t, err)

	_, err = s.ListDocuments(ctx, "u")
	require.NoError(t, err)
	got, err := s.ReadableDocuments(ctx, "v")
	require.NoError(t, err)
	require.Len(t, got, 1)
	got[0].SharedWith[0] = "mallory"
	got[0].Title = "edited by a caller"

	again, err := s.ListDocuments(ctx, "u")
	require.NoError(t, err)
	require.Equal(t, "first", again[0].Title)
	require.Equal(t, []string{"v"}, again[0].SharedWith)

	// Written behind the store's back: the next listing decodes it anew.
	require.NoError(t, s.DB().Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("documents"))
		return b.Put([]byte(d.ID), bytes.Replace(b.Get([]byte(d.ID)), []byte(`"first"`), []byte(`"second"`), 1))
	}))
	again, err = s.ReadableDocuments(ctx, "v")
	require.NoError(t, err)
	require.Equal(t, "second", again[0].Title)
}
