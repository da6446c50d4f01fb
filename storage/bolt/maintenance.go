package bolt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/penny-dev/penny/storage/atomicfile"
)

// Snapshot writes a consistent copy of the whole file to w from one read
// transaction (writers go on meanwhile) and returns its size. Write it to
// local disk, not to a slow network peer: the read transaction is held
// until w has taken every byte.
func (s *Store) Snapshot(ctx context.Context, w io.Writer) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("bolt: snapshot: %w", err)
	}
	return n, nil
}

// Compact rewrites the file at path without its free pages (a bbolt file
// never shrinks by itself) and returns its size before and after. The
// copy is written beside the file, synced, and renamed over it, so a crash
// leaves either the old file or the new one. The file must not be in use.
func Compact(path string) (before, after int64, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, 0, fmt.Errorf("bolt: compact: %w", err)
	}
	src, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: lockTimeout, ReadOnly: true})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return 0, 0, fmt.Errorf("bolt: %s is %w", path, ErrInUse)
		}
		return 0, 0, fmt.Errorf("bolt: compact: open: %w", err)
	}
	defer src.Close()
	tmp := path + ".compact"
	_ = os.Remove(tmp)
	dst, err := bbolt.Open(tmp, 0o600, &bbolt.Options{Timeout: lockTimeout, FreelistType: bbolt.FreelistMapType})
	if err != nil {
		return 0, 0, fmt.Errorf("bolt: compact: create: %w", err)
	}
	if err := bbolt.Compact(dst, src, 64<<20); err != nil {
		_ = dst.Close()
		_ = os.Remove(tmp)
		return 0, 0, fmt.Errorf("bolt: compact: %w", err)
	}
	if err := dst.Sync(); err != nil {
		_ = dst.Close()
		_ = os.Remove(tmp)
		return 0, 0, fmt.Errorf("bolt: compact: sync: %w", err)
	}
	if err := dst.Close(); err != nil {
		_ = os.Remove(tmp)
		return 0, 0, fmt.Errorf("bolt: compact: close: %w", err)
	}
	nst, err := os.Stat(tmp)
	if err != nil {
		return 0, 0, err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return 0, 0, fmt.Errorf("bolt: compact: replace: %w", err)
	}
	return st.Size(), nst.Size(), atomicfile.SyncDir(filepath.Dir(path))
}
