package bolt_test

import (
	"context"
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
