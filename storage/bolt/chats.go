package bolt

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/penny-dev/penny/storage"
)

// CreateChat stores c.
func (s *Store) CreateChat(ctx context.Context, c storage.Chat) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		if tx.Bucket(bChats).Get([]byte(c.ID)) != nil {
			return storage.ErrConflict
		}
		if err := tx.Bucket(bChatsUser).Put(pair(c.UserID, c.ID), nil); err != nil {
			return err
		}
		return put(tx.Bucket(bChats), c.ID, c)
	})
}

func userChat(tx *bbolt.Tx, userID, id string) (storage.Chat, error) {
	c, err := get[storage.Chat](tx.Bucket(bChats), id)
	if err != nil {
		return c, err
	}
	if c.UserID != userID {
		return storage.Chat{}, storage.ErrNotFound
	}
	return c, nil
}

// ChatByID returns the user's chat.
func (s *Store) ChatByID(ctx context.Context, userID, id string) (c storage.Chat, err error) {
	err = s.db.View(func(tx *bbolt.Tx) error {
		c, err = userChat(tx, userID, id)
		return err
	})
	return c, err
}

// ListChats returns the user's chats, most recently updated first.
func (s *Store) ListChats(ctx context.Context, userID string) ([]storage.Chat, error) {
	out := []storage.Chat{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		return children(tx.Bucket(bChatsUser), userID, func(id string) error {
			c, err := get[storage.Chat](tx.Bucket(bChats), id)
			out = append(out, c)
			return err
		})
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].UpdatedAt.After(out[j].UpdatedAt) })
	return out, err
}

// AddMessage appends m to the user's chat.
func (s *Store) AddMessage(ctx context.Context, m storage.Message) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		c, err := userChat(tx, m.UserID, m.ChatID)
		if err != nil {
			return err
		}
		b := tx.Bucket(bMessages)
		if b.Get(pair(m.ChatID, m.ID)) != nil {
			return storage.ErrConflict
		}
		if err := put(b, string(pair(m.ChatID, m.ID)), m); err != nil {
			return err
		}
		if err := tx.Bucket(bMessagesID).Put([]byte(m.ID), []byte(m.ChatID)); err != nil {
			return err
		}
		if m.CreatedAt.After(c.UpdatedAt) {
			c.UpdatedAt = m.CreatedAt
		}
		return put(tx.Bucket(bChats), c.ID, c)
	})
}

// ListMessages returns the chat's messages in order.
func (s *Store) ListMessages(ctx context.Context, userID, chatID string) ([]storage.Message, error) {
	out := []storage.Message{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		if _, err := userChat(tx, userID, chatID); err != nil {
			return err
		}
		b := tx.Bucket(bMessages)
		return children(b, chatID, func(id string) error {
			m, err := get[storage.Message](b, string(pair(chatID, id)))
			out = append(out, m)
			return err
		})
	})
	return out, err
}

// SetFeedback rates one of the user's messages.
func (s *Store) SetFeedback(ctx context.Context, userID, messageID string, f storage.Feedback) (m storage.Message, err error) {
	err = s.db.Update(func(tx *bbolt.Tx) error {
		chatID := tx.Bucket(bMessagesID).Get([]byte(messageID))
		if chatID == nil {
			return storage.ErrNotFound
		}
		if _, err := userChat(tx, userID, string(chatID)); err != nil {
			return err
		}
		b := tx.Bucket(bMessages)
		key := string(pair(string(chatID), messageID))
		if m, err = get[storage.Message](b, key); err != nil {
			return err
		}
		m.Feedback = &f
		return put(b, key, m)
	})
	return m, err
}

// EachMessage calls fn for every message created in [from, to).
func (s *Store) EachMessage(ctx context.Context, from, to time.Time, fn func(storage.Message) error) error {
	return s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bMessages).ForEach(func(k, v []byte) error {
			var m storage.Message
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			if m.CreatedAt.Before(from) || !m.CreatedAt.Before(to) {
				return nil
			}
			return fn(m)
		})
	})
}
