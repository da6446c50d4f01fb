package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/penny-dev/penny/storage"
)

// usersLock serialises "first user" checks across replicas.
const usersLock = 0x75736572 // "user"

func insertUser(ctx context.Context, q querier, u storage.User) error {
	u.Email = strings.ToLower(u.Email)
	data, err := encode(u)
	if err != nil {
		return err
	}
	_, err = q.Exec(ctx, `INSERT INTO users (id, email, data) VALUES ($1, $2, $3)`, u.ID, u.Email, data)
	return mapErr(err, "user "+u.Email)
}

// CreateUser stores u; ErrConflict when the email is taken.
func (s *Store) CreateUser(ctx context.Context, u storage.User) error {
	return insertUser(ctx, s.pool, u)
}

// CreateFirstUser stores u only if there is no user yet, atomically across
// replicas (an advisory lock held for the transaction).
func (s *Store) CreateFirstUser(ctx context.Context, u storage.User) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(usersLock)); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users)`).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return mapErr(errFirstUserExists, "first user")
		}
		return insertUser(ctx, tx, u)
	})
}

// UserByID returns the user with id.
func (s *Store) UserByID(ctx context.Context, id string) (storage.User, error) {
	return one[storage.User](ctx, s.pool, "user", `SELECT data FROM users WHERE id = $1`, id)
}

// UserByEmail returns the user with this email (case-insensitive).
func (s *Store) UserByEmail(ctx context.Context, email string) (storage.User, error) {
	return one[storage.User](ctx, s.pool, "user", `SELECT data FROM users WHERE email = $1`, strings.ToLower(email))
}

// ListUsers returns every user in id (creation) order.
func (s *Store) ListUsers(ctx context.Context) ([]storage.User, error) {
	return all[storage.User](ctx, s.pool, "users", `SELECT data FROM users ORDER BY id`)
}

// CountUsers is the number of users.
func (s *Store) CountUsers(ctx context.Context) (n int, err error) {
	err = s.pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, mapErr(err, "count users")
}

// CreateInvite stores an invite.
func (s *Store) CreateInvite(ctx context.Context, inv storage.Invite) error {
	return writeRecord(ctx, s.pool, "invite", `INSERT INTO invites (code_hash, data) VALUES ($1, $2)`, inv, inv.CodeHash)
}

// RedeemInvite creates u and consumes the invite in one transaction.
func (s *Store) RedeemInvite(ctx context.Context, codeHash string, now time.Time, u storage.User) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		inv, err := one[storage.Invite](ctx, tx, "invite", `SELECT data FROM invites WHERE code_hash = $1 FOR UPDATE`, codeHash)
		if err != nil {
			return err
		}
		if !now.Before(inv.ExpiresAt) {
			return mapErr(pgx.ErrNoRows, "invite expired")
		}
		if err := insertUser(ctx, tx, u); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM invites WHERE code_hash = $1`, codeHash)
		return mapErr(err, "invite")
	})
}

// CreateRefreshToken stores t.
func (s *Store) CreateRefreshToken(ctx context.Context, t storage.RefreshToken) error {
	return writeRecord(ctx, s.pool, "refresh token", `INSERT INTO refresh_tokens (hash, family_id, data) VALUES ($1, $2, $3)`, t, t.Hash, t.FamilyID)
}

// UseRefreshToken marks the token used and returns it as it was; a used or
// revoked token comes back with ErrConflict.
func (s *Store) UseRefreshToken(ctx context.Context, hash string, now time.Time) (t storage.RefreshToken, err error) {
	err = s.tx(ctx, func(tx pgx.Tx) error {
		if t, err = one[storage.RefreshToken](ctx, tx, "refresh token", `SELECT data FROM refresh_tokens WHERE hash = $1 FOR UPDATE`, hash); err != nil {
			return err
		}
		if t.UsedAt != nil || t.RevokedAt != nil {
			return errSpent
		}
		used := t
		used.UsedAt = &now
		return writeRecord(ctx, tx, "refresh token", `UPDATE refresh_tokens SET data = $2 WHERE hash = $1`, used, hash)
	})
	return t, err
}

// RevokeRefreshFamily revokes every token of the family.
func (s *Store) RevokeRefreshFamily(ctx context.Context, familyID string, now time.Time) error {
	at, err := encode(now)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `UPDATE refresh_tokens SET data = jsonb_set(data, '{revokedAt}', $2::jsonb)
		WHERE family_id = $1 AND NOT data ? 'revokedAt'`, familyID, at)
	return mapErr(err, "revoke family")
}

// CreateAPIKey stores k.
func (s *Store) CreateAPIKey(ctx context.Context, k storage.APIKey) error {
	return writeRecord(ctx, s.pool, "api key", `INSERT INTO api_keys (hash, id, user_id, data) VALUES ($1, $2, $3, $4)`, k, k.Hash, k.ID, k.UserID)
}

// APIKeyByHash finds a key by the hash of its secret.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (storage.APIKey, error) {
	return one[storage.APIKey](ctx, s.pool, "api key", `SELECT data FROM api_keys WHERE hash = $1`, hash)
}

// ListAPIKeys returns the user's keys, oldest first.
func (s *Store) ListAPIKeys(ctx context.Context, userID string) ([]storage.APIKey, error) {
	return all[storage.APIKey](ctx, s.pool, "api keys", `SELECT data FROM api_keys WHERE user_id = $1 ORDER BY id`, userID)
}

// DeleteAPIKey removes the user's key.
func (s *Store) DeleteAPIKey(ctx context.Context, userID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM api_keys WHERE user_id = $1 AND id = $2`, userID, id)
	if err != nil {
		return mapErr(err, "api key")
	}
	if tag.RowsAffected() == 0 {
		return mapErr(pgx.ErrNoRows, "api key")
	}
	return nil
}

// GetSetting returns the value stored under key.
func (s *Store) GetSetting(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	return v, mapErr(err, "setting "+key)
}

// PutSetting stores value under key.
func (s *Store) PutSetting(ctx context.Context, key string, value []byte) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return mapErr(err, "setting "+key)
}

// PutSettingIfAbsent stores value unless key is set, and returns the value
// in force.
func (s *Store) PutSettingIfAbsent(ctx context.Context, key string, value []byte) ([]byte, error) {
	if _, err := s.pool.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, key, value); err != nil {
		return nil, mapErr(err, "setting "+key)
	}
	return s.GetSetting(ctx, key)
}
