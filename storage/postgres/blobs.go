package postgres

import (
	"context"

	"github.com/penny-dev/penny/storage"
)

var _ storage.BlobStore = (*Store)(nil)

// PutBlob stores data under name.
func (s *Store) PutBlob(ctx context.Context, name string, data []byte) error {
	if data == nil {
		data = []byte{}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO blobs (name, data) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET data = excluded.data`, name, data)
	return mapErr(err, "blob "+name)
}

// GetBlob returns the data stored under name.
func (s *Store) GetBlob(ctx context.Context, name string) ([]byte, error) {
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT data FROM blobs WHERE name = $1`, name).Scan(&data)
	return data, mapErr(err, "blob "+name)
}

// DeleteBlob removes name.
func (s *Store) DeleteBlob(ctx context.Context, name string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM blobs WHERE name = $1`, name)
	return mapErr(err, "blob "+name)
}
