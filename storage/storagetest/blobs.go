package storagetest

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/storage"
)

// RunBlobs checks a BlobStore; open must return an empty store.
func RunBlobs(t *testing.T, open func(t *testing.T) storage.BlobStore) {
	ctx := context.Background()
	b := open(t)
	_, err := b.GetBlob(ctx, "01DOC.orig")
	require.ErrorIs(t, err, storage.ErrNotFound)
	require.NoError(t, b.DeleteBlob(ctx, "01DOC.orig"), "deleting nothing is fine")

	big := bytes.Repeat([]byte{0, 1, 2, 0xff}, 1<<18) // 1 MiB of binary
	require.NoError(t, b.PutBlob(ctx, "01DOC.orig", big))
	require.NoError(t, b.PutBlob(ctx, "01DOC", []byte("text")))
	got, err := b.GetBlob(ctx, "01DOC.orig")
	require.NoError(t, err)
	require.Equal(t, big, got, "binary data comes back byte for byte")

	require.NoError(t, b.PutBlob(ctx, "01DOC", []byte("replaced")))
	got, err = b.GetBlob(ctx, "01DOC")
	require.NoError(t, err)
	require.Equal(t, "replaced", string(got))

	require.NoError(t, b.PutBlob(ctx, "01EMPTY", nil))
	got, err = b.GetBlob(ctx, "01EMPTY")
	require.NoError(t, err)
	require.Empty(t, got)

	require.NoError(t, b.DeleteBlob(ctx, "01DOC.orig"))
	_, err = b.GetBlob(ctx, "01DOC.orig")
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = b.GetBlob(ctx, "01DOC")
	require.NoError(t, err, "other blobs stay")
}
