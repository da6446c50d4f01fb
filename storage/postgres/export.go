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

func importOne(ctx context.Context, tx pgx.Tx, r storage.Record) (int, error) {
	data := string(r.Data)
	var tag interface{ RowsAffected() int64 }
	var err error
	exec := func(sql string, args ...any) {
		tag, err = tx.Exec(ctx, sql, args...)
	}
	switch r.Kind {
	case "users":
		var u storage.User
		if err := json.Unmarshal(r.Data, &u); err != nil {
			return 0, err
		}
		exec(`INSERT INTO users (id, email, data) VALUES ($1, lower($2), $3) ON CONFLICT DO NOTHING`, u.ID, u.Email, data)
	case "invites":
		exec(`INSERT INTO invites (code_hash, data) VALUES ($1, $2) ON CONFLICT DO NOTHING`, r.Key, data)
	case "refresh_tokens":
		var t storage.RefreshToken
		if err := json.Unmarshal(r.Data, &t); err != nil {
			return 0, err
		}
		exec(`INSERT INTO refresh_tokens (hash, family_id, data) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, t.Hash, t.FamilyID, data)
	case "api_keys":
		var k storage.APIKey
		if err := json.Unmarshal(r.Data, &k); err != nil {
			return 0, err
		}
		exec(`INSERT INTO api_keys (hash, id, user_id, data) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, k.Hash, k.ID, k.UserID, data)
	case "chats":
		var c storage.Chat
		if err := json.Unmarshal(r.Data, &c); err != nil {
			return 0, err
		}
		exec(`INSERT INTO chats (id, user_id, updated_at, data) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, c.ID, c.UserID, c.UpdatedAt, data)
	case "messages":
		var m storage.Message
		if err := json.Unmarshal(r.Data, &m); err != nil {
			return 0, err
		}
		exec(`INSERT INTO messages (id, chat_id, created_at, data) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, m.ID, m.ChatID, m.CreatedAt, data)
	case "documents":
		var d storage.Document
		if err := json.Unmarshal(r.Data, &d); err != nil {
			return 0, err
		}
		exec(`INSERT INTO documents (id, owner_id, data) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, d.ID, d.OwnerID, data)
		if err == nil && tag.RowsAffected() == 1 {
			readers := d.SharedWith
			if d.SharedAll {
				readers = append(readers[:len(readers):len(readers)], everyone)
			}
			for _, reader := range readers {
				if _, err := tx.Exec(ctx, `INSERT INTO document_readers (document_id, reader) VALUES ($1, $2) ON CONFLICT DO NOTHING`, d.ID, reader); err != nil {
					return 0, err
				}
			}
		}
	case "chunks":
		var c storage.Chunk
		if err := json.Unmarshal(r.Data, &c); err != nil {
			return 0, err
		}
		exec(`INSERT INTO chunks (id, document_id, data, vector) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, c.ID, c.DocumentID, data, encodeVector(r.Vector))
	case "ingest_jobs":
		var j storage.IngestJob
		if err := json.Unmarshal(r.Data, &j); err != nil {
			return 0, err
		}
		exec(`INSERT INTO ingest_jobs (document_id, next_at, lease_until, created_at, data) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
			j.DocumentID, j.NextAt, time.Time{}, j.CreatedAt, data)
	case "ledger":
		var e storage.LedgerEntry
		if err := json.Unmarshal(r.Data, &e); err != nil {
			return 0, err
		}
		exec(`INSERT INTO ledger (id, time, user_id, data) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, e.ID, e.Time, e.UserID, data)
	case "settings":
		exec(`INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING`, r.Key, r.Data)
	default:
		return 0, fmt.Errorf("unknown kind")
	}
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}
