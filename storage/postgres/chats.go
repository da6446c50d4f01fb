package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/penny-dev/penny/storage"
)

// CreateChat stores c.
func (s *Store) CreateChat(ctx context.Context, c storage.Chat) error {
	return writeRecord(ctx, s.pool, "chat", `INSERT INTO chats (id, user_id, updated_at, data) VALUES ($1, $2, $3, $4)`, c, c.ID, c.UserID, c.UpdatedAt)
}

// ChatByID returns the user's chat.
func (s *Store) ChatByID(ctx context.Context, userID, id string) (storage.Chat, error) {
	return one[storage.Chat](ctx, s.pool, "chat", `SELECT data FROM chats WHERE id = $1 AND user_id = $2`, id, userID)
}

// ListChats returns the user's chats, most recently updated first.
func (s *Store) ListChats(ctx context.Context, userID string) ([]storage.Chat, error) {
	return all[storage.Chat](ctx, s.pool, "chats", `SELECT data FROM chats WHERE user_id = $1 ORDER BY updated_at DESC, id`, userID)
}

// AddMessage appends m to the user's chat and bumps the chat's UpdatedAt.
func (s *Store) AddMessage(ctx context.Context, m storage.Message) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		c, err := one[storage.Chat](ctx, tx, "chat", `SELECT data FROM chats WHERE id = $1 AND user_id = $2 FOR UPDATE`, m.ChatID, m.UserID)
		if err != nil {
			return err
		}
		data, err := encode(m)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO messages (id, chat_id, created_at, data) VALUES ($1, $2, $3, $4)`, m.ID, m.ChatID, m.CreatedAt, data); err != nil {
			return mapErr(err, "message")
		}
		if !m.CreatedAt.After(c.UpdatedAt) {
			return nil
		}
		c.UpdatedAt = m.CreatedAt
		if data, err = encode(c); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE chats SET updated_at = $2, data = $3 WHERE id = $1`, c.ID, c.UpdatedAt, data)
		return mapErr(err, "chat")
	})
}

// ListMessages returns the chat's messages in order.
func (s *Store) ListMessages(ctx context.Context, userID, chatID string) ([]storage.Message, error) {
	if _, err := s.ChatByID(ctx, userID, chatID); err != nil {
		return nil, err
	}
	return all[storage.Message](ctx, s.pool, "messages", `SELECT data FROM messages WHERE chat_id = $1 ORDER BY id`, chatID)
}

// SetFeedback rates one of the user's messages.
func (s *Store) SetFeedback(ctx context.Context, userID, messageID string, f storage.Feedback) (m storage.Message, err error) {
	err = s.tx(ctx, func(tx pgx.Tx) error {
		m, err = one[storage.Message](ctx, tx, "message", `SELECT m.data FROM messages m JOIN chats c ON c.id = m.chat_id
			WHERE m.id = $1 AND c.user_id = $2 FOR UPDATE OF m`, messageID, userID)
		if err != nil {
			return err
		}
		m.Feedback = &f
		return writeRecord(ctx, tx, "message", `UPDATE messages SET data = $2 WHERE id = $1`, m, messageID)
	})
	return m, err
}

// EachMessage calls fn for every message created in [from, to).
func (s *Store) EachMessage(ctx context.Context, from, to time.Time, fn func(storage.Message) error) error {
	return each(ctx, s.pool, "messages", `SELECT data FROM messages WHERE created_at >= $1 AND created_at < $2 ORDER BY created_at, id`,
		[]any{from, to}, fn)
}

// AppendLedger stores e; the same id twice is ErrConflict.
func (s *Store) AppendLedger(ctx context.Context, e storage.LedgerEntry) error {
	return writeRecord(ctx, s.pool, "ledger entry", `INSERT INTO ledger (id, time, user_id, data) VALUES ($1, $2, $3, $4)`, e, e.ID, e.Time, e.UserID)
}

// EachLedger calls fn for every matching entry in time order.
func (s *Store) EachLedger(ctx context.Context, f storage.LedgerFilter, fn func(storage.LedgerEntry) error) error {
	if f.UserID != "" {
		return each(ctx, s.pool, "ledger", `SELECT data FROM ledger WHERE user_id = $1 AND time >= $2 AND time < $3 ORDER BY time, id`,
			[]any{f.UserID, f.From, f.To}, fn)
	}
	return each(ctx, s.pool, "ledger", `SELECT data FROM ledger WHERE time >= $1 AND time < $2 ORDER BY time, id`,
		[]any{f.From, f.To}, fn)
}
