// Package blobfs keeps blobs as files in one directory (the embedded mode's
// data dir/files), each written durably (storage/atomicfile).
package blobfs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/penny-dev/penny/storage"
	"github.com/penny-dev/penny/storage/atomicfile"
)

// Dir is a storage.BlobStore in a directory.
type Dir struct{ path string }

var _ storage.BlobStore = Dir{}

// New returns the blob store in dir (created on first write).
func New(dir string) Dir { return Dir{path: dir} }

func (d Dir) file(name string) (string, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return "", fmt.Errorf("blobfs: bad name %q", name)
	}
	return filepath.Join(d.path, name), nil
}

// PutBlob writes data to the file name (temp file, sync, rename).
func (d Dir) PutBlob(ctx context.Context, name string, data []byte) error {
	p, err := d.file(name)
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(p, data)
}

// GetBlob reads the file name.
func (d Dir) GetBlob(ctx context.Context, name string) ([]byte, error) {
	p, err := d.file(name)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("blobfs: %s: %w", name, storage.ErrNotFound)
	}
	return data, err
}

// DeleteBlob removes the file name.
func (d Dir) DeleteBlob(ctx context.Context, name string) error {
	p, err := d.file(name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
