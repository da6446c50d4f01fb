package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/penny-dev/penny/storage"
)

// exportQueries read each kind's records (key, data[, vector]).
var exportQueries = map[string]string{
	"users":          `SELECT id, data FROM users ORDER BY id`,
	"invites":        `SELECT code_hash, data FROM invites ORDER BY code_hash`,
	"refresh_tokens": `SELECT hash, data FROM refresh_tokens ORDER BY hash`,
	"api_keys":       `SELECT hash, data FROM api_keys ORDER BY hash`,
	"chats":          `SELECT id, data FROM chats ORDER BY id`,
	"messages":       `SELECT id, data FROM messages ORDER BY id`,
	"documents":      `SELECT id, data FROM documents ORDER BY id`,
	"chunks":         `SELECT id, data, vector FROM chunks ORDER BY id`,
	"ingest_jobs":    `SELECT document_id, data FROM ingest_jobs ORDER BY document_id`,
	"ledger":         `SELECT id, data FROM ledger ORDER BY id`,
	"settings":       `SELECT key, value FROM settings ORDER BY key`,
}

// Export calls fn with every record, kind by kind (to verify a migration).
func (s *Store) Export(ctx context.Context, fn func(storage.Record) error) error {
	for _, kind := range storage.RecordKinds {
		rows, err := s.pool.Query(ctx, exportQueries[kind])
		if err != nil {
			return mapErr(err, "export "+kind)
		}
		for rows.Next() {
			rec := storage.Record{Kind: kind}
			var vec []byte
			dest := []any{&rec.Key, &rec.Data}
			if kind == "chunks" {
				dest = append(dest, &vec)
			}
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return mapErr(err, "export "+kind)
			}
			rec.Vector = decodeVector(vec)
			if err := fn(rec); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return mapErr(err, "export "+kind)
		}
	}
	return nil
}

// Import writes records that are not there yet, in one transaction, and
// returns how many it wrote (a record already present is left as it is,
// so an interrupted migration can simply run again).
func (s *Store) Import(ctx context.Context, recs []storage.Record) (written int, err error) {
	err = s.tx(ctx, func(tx pgx.Tx) error {
		written = 0
		for _, r := range recs {
			n, err := importOne(ctx, tx, r)
			if err != nil {
				return fmt.Errorf("postgres: import %s %s: %w", r.Kind, r.Key, err)
			}
			written += n
		}
		return nil
	})
	return written, err
}

// importOne writes one record unless it is there; it returns the rows
// written.
func importOne(ctx context.Context, tx pgx.Tx, r storage.Record) (int, error) {
	// The columns every kind needs, read from the record's JSON at once
	// (field names match the JSON keys, case aside).
	var f struct {
		ID, Email, Hash, FamilyID, UserID, ChatID, OwnerID, DocumentID string
		UpdatedAt, CreatedAt, NextAt, Time                             time.Time
		SharedWith                                                     []string
		SharedAll                                                      bool
	}
	if r.Kind != "settings" {
		if err := json.Unmarshal(r.Data, &f); err != nil {
			return 0, err
		}
	}
	data := string(r.Data)
	var sql string
	var args []any
	switch r.Kind {
	case "users":
		sql, args = `INSERT INTO users (id, email, data) VALUES ($1, lower($2), $3)`, []any{f.ID, f.Email, data}
	case "invites":
		sql, args = `INSERT INTO invites (code_hash, data) VALUES ($1, $2)`, []any{r.Key, data}
	case "refresh_tokens":
		sql, args = `INSERT INTO refresh_tokens (hash, family_id, data) VALUES ($1, $2, $3)`, []any{f.Hash, f.FamilyID, data}
	case "api_keys":
		sql, args = `INSERT INTO api_keys (hash, id, user_id, data) VALUES ($1, $2, $3, $4)`, []any{f.Hash, f.ID, f.UserID, data}
	case "chats":
		sql, args = `INSERT INTO chats (id, user_id, updated_at, data) VALUES ($1, $2, $3, $4)`, []any{f.ID, f.UserID, f.UpdatedAt, data}
	case "messages":
		sql, args = `INSERT INTO messages (id, chat_id, created_at, data) VALUES ($1, $2, $3, $4)`, []any{f.ID, f.ChatID, f.CreatedAt, data}
	case "documents":
		sql, args = `INSERT INTO documents (id, owner_id, data) VALUES ($1, $2, $3)`, []any{f.ID, f.OwnerID, data}
	case "chunks":
		sql, args = `INSERT INTO chunks (id, document_id, data, vector) VALUES ($1, $2, $3, $4)`, []any{f.ID, f.DocumentID, data, encodeVector(r.Vector)}
	case "ingest_jobs": // leases do not survive the move
		sql = `INSERT INTO ingest_jobs (document_id, next_at, lease_until, created_at, data) VALUES ($1, $2, $3, $4, $5)`
		args = []any{f.DocumentID, f.NextAt, time.Time{}, f.CreatedAt, data}
	case "ledger":
		sql, args = `INSERT INTO ledger (id, time, user_id, data) VALUES ($1, $2, $3, $4)`, []any{f.ID, f.Time, f.UserID, data}
	case "settings":
		sql, args = `INSERT INTO settings (key, value) VALUES ($1, $2)`, []any{r.Key, r.Data}
	default:
		return 0, fmt.Errorf("unknown kind")
	}
	tag, err := tx.Exec(ctx, sql+` ON CONFLICT DO NOTHING`, args...)
	if err != nil {
		return 0, err
	}
	if r.Kind == "documents" && tag.RowsAffected() == 1 {
		readers := f.SharedWith
		if f.SharedAll {
			readers = append(readers, everyone)
		}
		for _, reader := range readers {
			if _, err := tx.Exec(ctx, `INSERT INTO document_readers (document_id, reader) VALUES ($1, $2) ON CONFLICT DO NOTHING`, f.ID, reader); err != nil {
				return 0, err
			}
		}
	}
	return int(tag.RowsAffected()), nil
}
