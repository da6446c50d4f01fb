package bolt

import (
	"context"
	"errors"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/penny-dev/penny/storage"
)

// CreateRefreshToken stores t.
func (s *Store) CreateRefreshToken(ctx context.Context, t storage.RefreshToken) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bRefresh)
		if b.Get([]byte(t.Hash)) != nil {
			return storage.ErrConflict
		}
		if err := tx.Bucket(bRefreshFamily).Put(pair(t.FamilyID, t.Hash), nil); err != nil {
			return err
		}
		return put(b, t.Hash, t)
	})
}

// UseRefreshToken marks the token used and returns it as it was.
func (s *Store) UseRefreshToken(ctx context.Context, hash string, now time.Time) (storage.RefreshToken, error) {
	var t storage.RefreshToken
	err := s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bRefresh)
		var err error
		if t, err = get[storage.RefreshToken](b, hash); err != nil {
			return err
		}
		if t.UsedAt != nil || t.RevokedAt != nil {
			return fmt.Errorf("bolt: refresh token spent: %w", storage.ErrConflict)
		}
		used := t
		used.UsedAt = &now
		return put(b, hash, used)
	})
	return t, err
}

// RevokeRefreshFamily revokes every token of the family.
func (s *Store) RevokeRefreshFamily(ctx context.Context, familyID string, now time.Time) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bRefresh)
		return children(tx.Bucket(bRefreshFamily), familyID, func(hash string) error {
			return revoke(b, hash, now)
		})
	})
}

func revoke(b *bbolt.Bucket, hash string, now time.Time) error {
	t, err := get[storage.RefreshToken](b, hash)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		return err
	}
	if t.RevokedAt != nil {
		return nil
	}
	t.RevokedAt = &now
	return put(b, hash, t)
}

// CreateAPIKey stores k.
func (s *Store) CreateAPIKey(ctx context.Context, k storage.APIKey) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bAPIKeys)
		if b.Get([]byte(k.Hash)) != nil {
			return storage.ErrConflict
		}
		if err := tx.Bucket(bAPIKeysUser).Put(pair(k.UserID, k.ID), []byte(k.Hash)); err != nil {
			return err
		}
		return put(b, k.Hash, k)
	})
}

// APIKeyByHash finds a key by the hash of its secret.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (k storage.APIKey, err error) {
	err = s.db.View(func(tx *bbolt.Tx) error {
		k, err = get[storage.APIKey](tx.Bucket(bAPIKeys), hash)
		return err
	})
	return k, err
}

// ListAPIKeys returns the user's keys, oldest first.
func (s *Store) ListAPIKeys(ctx context.Context, userID string) ([]storage.APIKey, error) {
	out := []storage.APIKey{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		idx, keys := tx.Bucket(bAPIKeysUser), tx.Bucket(bAPIKeys)
		return children(idx, userID, func(id string) error {
			k, err := get[storage.APIKey](keys, string(idx.Get(pair(userID, id))))
			out = append(out, k)
			return err
		})
	})
	return out, err
}

// DeleteAPIKey removes the user's key.
func (s *Store) DeleteAPIKey(ctx context.Context, userID, id string) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		idx := tx.Bucket(bAPIKeysUser)
		hash := idx.Get(pair(userID, id))
		if hash == nil {
			return storage.ErrNotFound
		}
		if err := tx.Bucket(bAPIKeys).Delete(hash); err != nil {
			return err
		}
		return idx.Delete(pair(userID, id))
	})
}
