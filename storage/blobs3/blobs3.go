// Package blobs3 keeps blobs (uploaded originals and extracted texts) in
// S3-compatible object storage (MinIO, AWS S3, R2, …) through minio-go: the
// scale-out mode's store for uploads when PENNY_S3_ENDPOINT is set, so every
// replica reads every upload and the database stays small.
package blobs3

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/penny-dev/penny/storage"
)

// Options locate the bucket.
type Options struct {
	// Endpoint is the server: "https://s3.example.com", "http://127.0.0.1:9000"
	// or a bare "host:port" (HTTPS).
	Endpoint  string
	Bucket    string
	AccessKey string
	SecretKey string
	// Region is optional ("us-east-1" when the server needs one).
	Region string
	// Prefix is put before every object name (several installs in one bucket).
	Prefix string
}

// Store is a storage.BlobStore in one bucket.
type Store struct {
	client *minio.Client
	bucket string
	prefix string
}

var _ storage.BlobStore = (*Store)(nil)

// Open connects and creates the bucket if it does not exist.
func Open(ctx context.Context, o Options) (*Store, error) {
	host, secure := o.Endpoint, true
	if u, err := url.Parse(o.Endpoint); err == nil && u.Host != "" {
		host, secure = u.Host, u.Scheme != "http"
	}
	if host == "" || o.Bucket == "" {
		return nil, fmt.Errorf("blobs3: an endpoint and a bucket are required")
	}
	client, err := minio.New(host, &minio.Options{
		Creds:  credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure: secure,
		Region: o.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("blobs3: %w", err)
	}
	exists, err := client.BucketExists(ctx, o.Bucket)
	if err != nil {
		return nil, fmt.Errorf("blobs3: cannot reach bucket %s at %s: %w", o.Bucket, host, err)
	}
	if !exists {
		if err := client.MakeBucket(ctx, o.Bucket, minio.MakeBucketOptions{Region: o.Region}); err != nil {
			return nil, fmt.Errorf("blobs3: create bucket %s: %w", o.Bucket, err)
		}
	}
	return &Store{client: client, bucket: o.Bucket, prefix: strings.TrimPrefix(o.Prefix, "/")}, nil
}

func (s *Store) object(name string) string { return s.prefix + name }

// PutBlob uploads data under name (a whole object: readers never see half).
func (s *Store) PutBlob(ctx context.Context, name string, data []byte) error {
	_, err := s.client.PutObject(ctx, s.bucket, s.object(name), bytes.NewReader(data), int64(len(data)),
		// One signed request with a Content-MD5 the server checks, rather
		// than aws-chunked streaming signatures, which S3-compatible
		// servers do not all speak (s3rver does not).
		minio.PutObjectOptions{ContentType: "application/octet-stream", DisableContentSha256: true, SendContentMd5: true})
	if err != nil {
		return fmt.Errorf("blobs3: put %s: %w", name, err)
	}
	return nil
}

// GetBlob downloads name.
func (s *Store) GetBlob(ctx context.Context, name string) ([]byte, error) {
	obj, err := s.client.GetObject(ctx, s.bucket, s.object(name), minio.GetObjectOptions{})
	if err == nil {
		var data []byte
		data, err = io.ReadAll(obj)
		_ = obj.Close()
		if err == nil {
			return data, nil
		}
	}
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return nil, fmt.Errorf("blobs3: %s: %w", name, storage.ErrNotFound)
	}
	return nil, fmt.Errorf("blobs3: get %s: %w", name, err)
}

// DeleteBlob removes name (S3 does not mind a missing one).
func (s *Store) DeleteBlob(ctx context.Context, name string) error {
	if err := s.client.RemoveObject(ctx, s.bucket, s.object(name), minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("blobs3: delete %s: %w", name, err)
	}
	return nil
}
