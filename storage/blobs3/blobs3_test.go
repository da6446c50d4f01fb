package blobs3_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/storage"
	"github.com/penny-dev/penny/storage/blobs3"
	"github.com/penny-dev/penny/storage/blobs3/s3test"
	"github.com/penny-dev/penny/storage/storagetest"
)

func TestConformance(t *testing.T) {
	endpoint := s3test.Start(t)
	n := 0
	storagetest.RunBlobs(t, func(t *testing.T) storage.BlobStore {
		n++
		s, err := blobs3.Open(context.Background(), blobs3.Options{Endpoint: endpoint, Bucket: fmt.Sprintf("penny-test-%d", n),
			AccessKey: "S3RVER", SecretKey: "S3RVER", Region: "us-east-1"})
		require.NoError(t, err)
		return s
	})
}

func TestPrefixesKeepInstallsApart(t *testing.T) {
	endpoint := s3test.Start(t)
	ctx := context.Background()
	open := func(prefix string) *blobs3.Store {
		s, err := blobs3.Open(ctx, blobs3.Options{Endpoint: endpoint, Bucket: "shared", AccessKey: "S3RVER", SecretKey: "S3RVER", Region: "us-east-1", Prefix: prefix})
		require.NoError(t, err)
		return s
	}
	a, b := open("a/"), open("b/")
	require.NoError(t, a.PutBlob(ctx, "doc", []byte("from a")))
	_, err := b.GetBlob(ctx, "doc")
	require.ErrorIs(t, err, storage.ErrNotFound)
}
