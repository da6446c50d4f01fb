package storage_test

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/storage"
)

// RecordKey names a record the same way in every backend (backup,
// restore and migrate-data compare records by it).
func TestRecordKey(t *testing.T) {
	for kind, want := range map[string]string{"users": "u1", "invites": "code", "refresh_tokens": "tok", "api_keys": "tok", "ingest_jobs": "d1", "ledger": "u1"} {
		got, err := storage.RecordKey(kind, "stored", []byte(`{"id":"u1","codeHash":"code","hash":"tok","documentId":"d1"}`))
		require.NoError(t, err)
		require.Equal(t, want, got, kind)
	}
	got, err := storage.RecordKey("settings", "routing", []byte(`{"id":"x"}`))
	require.NoError(t, err)
	require.Equal(t, "routing", got, "settings keep the key they were stored under")
	_, err = storage.RecordKey("users", "u9", []byte("not json"))
	require.ErrorContains(t, err, "users record u9")
}

func TestNewIDsSortByTime(t *testing.T) {
	a := storage.NewID()
	b := storage.NewID()
	require.Len(t, a, 26)
	require.NotEqual(t, a, b)
	require.LessOrEqual(t, a[:10], b[:10], "the time part comes first")
}

func TestDiskFull(t *testing.T) {
	require.True(t, storage.DiskFull(&os.PathError{Op: "write", Path: "penny.db", Err: syscall.ENOSPC}))
	require.True(t, storage.DiskFull(fmt.Errorf("put blob: %w", syscall.EDQUOT)))
	require.True(t, storage.DiskFull(fmt.Errorf("postgres: add message: %w", storage.ErrDiskFull)))
	require.False(t, storage.DiskFull(&os.PathError{Op: "open", Path: "penny.db", Err: syscall.EACCES}))
	require.False(t, storage.DiskFull(errors.New("no space")))
	require.False(t, storage.DiskFull(nil))
}
