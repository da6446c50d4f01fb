package bolt

import (
	"context"
	"fmt"
	"strings"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/penny-dev/penny/storage"
)

func insertUser(tx *bbolt.Tx, u storage.User) error {
	u.Email = strings.ToLower(u.Email)
	emails := tx.Bucket(bUsersEmail)
	if emails.Get([]byte(u.Email)) != nil || tx.Bucket(bUsers).Get([]byte(u.ID)) != nil {
		return fmt.Errorf("bolt: user %s: %w", u.Email, storage.ErrConflict)
	}
	if err := emails.Put([]byte(u.Email), []byte(u.ID)); err != nil {
		return err
	}
	return put(tx.Bucket(bUsers), u.ID, u)
}

// CreateUser stores u; ErrConflict when the email is taken.
func (s *Store) CreateUser(ctx context.Context, u storage.User) error {
	return s.db.Update(func(tx *bbolt.Tx) error { return insertUser(tx, u) })
}

// CreateFirstUser stores u only if there is no user yet.
func (s *Store) CreateFirstUser(ctx context.Context, u storage.User) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		if tx.Bucket(bUsers).Stats().KeyN > 0 {
			return fmt.Errorf("bolt: first user exists: %w", storage.ErrConflict)
		}
		return insertUser(tx, u)
	})
}

// UserByID returns the user with id.
func (s *Store) UserByID(ctx context.Context, id string) (u storage.User, err error) {
	err = s.db.View(func(tx *bbolt.Tx) error {
		u, err = get[storage.User](tx.Bucket(bUsers), id)
		return err
	})
	return u, err
}

// UserByEmail returns the user with this email (case-insensitive).
func (s *Store) UserByEmail(ctx context.Context, email string) (u storage.User, err error) {
	err = s.db.View(func(tx *bbolt.Tx) error {
		id := tx.Bucket(bUsersEmail).Get([]byte(strings.ToLower(email)))
		if id == nil {
			return storage.ErrNotFound
		}
		u, err = get[storage.User](tx.Bucket(bUsers), string(id))
		return err
	})
	return u, err
}

// ListUsers returns every user in id (creation) order.
func (s *Store) ListUsers(ctx context.Context) ([]storage.User, error) {
	var out []storage.User
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bUsers).ForEach(func(k, _ []byte) error {
			u, err := get[storage.User](tx.Bucket(bUsers), string(k))
			out = append(out, u)
			return err
		})
	})
	return out, err
}

// CountUsers is the number of users.
func (s *Store) CountUsers(ctx context.Context) (n int, err error) {
	err = s.db.View(func(tx *bbolt.Tx) error {
		n = tx.Bucket(bUsers).Stats().KeyN
		return nil
	})
	return n, err
}

// CreateInvite stores an invite.
func (s *Store) CreateInvite(ctx context.Context, inv storage.Invite) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bInvites)
		if b.Get([]byte(inv.CodeHash)) != nil {
			return storage.ErrConflict
		}
		return put(b, inv.CodeHash, inv)
	})
}

// RedeemInvite creates u and consumes the invite atomically.
func (s *Store) RedeemInvite(ctx context.Context, codeHash string, now time.Time, u storage.User) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bInvites)
		inv, err := get[storage.Invite](b, codeHash)
		if err != nil {
			return fmt.Errorf("bolt: invite: %w", err)
		}
		if !now.Before(inv.ExpiresAt) {
			return fmt.Errorf("bolt: invite expired: %w", storage.ErrNotFound)
		}
		if err := insertUser(tx, u); err != nil {
			return err
		}
		return b.Delete([]byte(codeHash))
	})
}
