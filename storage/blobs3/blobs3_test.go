package blobs3_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
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

// Open needs a bucket and a server that answers; a server that fails later
// turns every call into an error that names the object.
func TestErrorsSayWhat(t *testing.T) {
	ctx := context.Background()
	_, err := blobs3.Open(ctx, blobs3.Options{Endpoint: "http://127.0.0.1:1"})
	require.ErrorContains(t, err, "an endpoint and a bucket are required")
	_, err = blobs3.Open(ctx, blobs3.Options{Endpoint: "http://127.0.0.1:1", Bucket: "b", Region: "us-east-1"})
	require.ErrorContains(t, err, "cannot reach bucket b")

	// The bucket exists; then the server answers 500 to everything.
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`<Error><Code>InternalError</Code><Message>disk on fire</Message></Error>`))
	}))
	defer failing.Close()
	s, err := blobs3.Open(ctx, blobs3.Options{Endpoint: failing.URL, Bucket: "penny-bucket", Region: "us-east-1", AccessKey: "k", SecretKey: "s"})
	require.NoError(t, err)
	require.ErrorContains(t, s.PutBlob(ctx, "doc-1", []byte("x")), "blobs3: put doc-1")
	_, err = s.GetBlob(ctx, "doc-1")
	require.ErrorContains(t, err, "blobs3: get doc-1")
	require.NotErrorIs(t, err, storage.ErrNotFound)
	require.ErrorContains(t, s.DeleteBlob(ctx, "doc-1"), "blobs3: delete doc-1")
}
