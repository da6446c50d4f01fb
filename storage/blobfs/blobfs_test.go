package blobfs_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/storage"
	"github.com/penny-dev/penny/storage/blobfs"
	"github.com/penny-dev/penny/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.RunBlobs(t, func(t *testing.T) storage.BlobStore { return blobfs.New(t.TempDir()) })
}

func TestNamesStayInTheDirectory(t *testing.T) {
	b := blobfs.New(t.TempDir())
	for _, bad := range []string{"", ".", "..", "../escape", "a/b", `a\b`} {
		require.Error(t, b.PutBlob(context.Background(), bad, []byte("x")), bad)
	}
}
