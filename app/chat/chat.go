// Package chat is a user's conversations. A message to a chat is stored
// first (it is acknowledged), then answered: from the user's documents
// with citations when they have any, otherwise by the router's chat model
// (which, offline, says plainly that no generative model is configured).
package chat

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/penny-dev/penny/app/apperr"
	"github.com/penny-dev/penny/app/rag"
	"github.com/penny-dev/penny/providers"
	"github.com/penny-dev/penny/providers/router"
	"github.com/penny-dev/penny/storage"
)

// Store is what chat needs from storage.
type Store interface {
	storage.ChatStore
	ReadableDocuments(ctx context.Context, userID string) ([]storage.Document, error)
}

// Answerer answers from documents.
type Answerer interface {
	Answer(ctx context.Context, q rag.Query, onDelta func(string) error) (rag.Answer, error)
}

// Router reaches chat models.
type Router interface {
	Chat(ctx context.Context, call router.Call, req providers.ChatRequest, onDelta func(string) error) (router.Result, error)
}

// Options configure the Service.
type Options struct {
	// MaxMessageChars caps one message. Default 8000.
	MaxMessageChars int
	// HistoryMessages is how many earlier messages go to the model. Default 10.
	HistoryMessages int
	Now             func() time.Time
}

// Service is the chat capability. Safe for concurrent use.
type Service struct {
	store  Store
	rag    Answerer
	router Router
	opts   Options
}

// New returns the service.
func New(store Store, a Answerer, r Router, opts Options) *Service {
	if opts.MaxMessageChars == 0 {
		opts.MaxMessageChars = 8000
	}
	if opts.HistoryMessages == 0 {
		opts.HistoryMessages = 10
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{store: store, rag: a, router: r, opts: opts}
}

// Create starts a chat.
func (s *Service) Create(ctx context.Context, userID, title string) (storage.Chat, error) {
	title = strings.TrimSpace(title)
	if utf8.RuneCountInString(title) > 200 {
		return storage.Chat{}, apperr.Invalid("title must have at most 200 characters")
	}
	if title == "" {
		title = "New chat"
	}
	now := s.opts.Now().UTC()
	c := storage.Chat{ID: storage.NewID(), UserID: userID, Title: title, CreatedAt: now, UpdatedAt: now}
	return c, s.store.CreateChat(ctx, c)
}

// List returns the user's chats.
func (s *Service) List(ctx context.Context, userID string) ([]storage.Chat, error) {
	return s.store.ListChats(ctx, userID)
}

// Messages returns a chat's messages.
func (s *Service) Messages(ctx context.Context, userID, chatID string) ([]storage.Message, error) {
	msgs, err := s.store.ListMessages(ctx, userID, chatID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, apperr.NotFound("chat")
	}
	return msgs, err
}

// Send is one user message.
type Send struct {
	UserID, RequestID, ChatID string
	Content                   string
	DocumentIDs               []string
	Provider                  string
}

// Reply is the stored user message, the stored answer, and the RAG detail
// of the answer when it came from documents.
type Reply struct {
	User      storage.Message `json:"userMessage"`
	Assistant storage.Message `json:"message"`
	Cost      rag.Cost        `json:"cost"`
	Retrieval string          `json:"retrieval,omitempty"`
	Reasons   []string        `json:"reasons,omitempty"`
}

// Send stores the message, answers it and stores the answer. onDelta, if
// set, receives the answer as it is produced.
func (s *Service) Send(ctx context.Context, in Send, onDelta func(string) error) (Reply, error) {
	content := strings.TrimSpace(in.Content)
	if content == "" {
		return Reply{}, apperr.Invalid("content is required")
	}
	if utf8.RuneCountInString(content) > s.opts.MaxMessageChars {
		return Reply{}, apperr.Invalid("content is longer than %d characters", s.opts.MaxMessageChars)
	}
	history, err := s.Messages(ctx, in.UserID, in.ChatID)
	if err != nil {
		return Reply{}, err
	}
	userMsg := storage.Message{ID: storage.NewID(), ChatID: in.ChatID, UserID: in.UserID, Role: "user", Content: content, CreatedAt: s.opts.Now().UTC()}
	if err := s.store.AddMessage(ctx, userMsg); err != nil {
		return Reply{}, err
	}

	var past []providers.Message
	for _, m := range history[max(0, len(history)-s.opts.HistoryMessages):] {
		past = append(past, providers.Message{Role: m.Role, Content: m.Content})
	}
	reply := Reply{User: userMsg}
	answer := storage.Message{ID: storage.NewID(), ChatID: in.ChatID, UserID: in.UserID, Role: "assistant"}
	hasDocs, err := s.hasDocuments(ctx, in.UserID)
	if err != nil {
		return Reply{}, err
	}
	if hasDocs || len(in.DocumentIDs) > 0 {
		a, err := s.rag.Answer(ctx, rag.Query{UserID: in.UserID, RequestID: in.RequestID, Service: storage.ServiceChat,
			Question: content, DocumentIDs: in.DocumentIDs, Provider: in.Provider, History: past}, onDelta)
		if err != nil {
			return Reply{}, err
		}
		answer.Content, answer.Citations, answer.Provider, answer.Model = a.Answer, a.Citations, a.Provider, a.Model
		answer.CostMicros, answer.Tier, answer.Arm, answer.LatencyMs, answer.Groundedness = a.Cost.Micros, a.Tier, a.Arm, a.LatencyMs, a.Groundedness
		reply.Cost, reply.Retrieval, reply.Reasons = a.Cost, a.Retrieval, a.Reasons
		answer.Reasons = a.Reasons
		if a.Cached != "miss" {
			answer.Cached = a.Cached
		}
	} else {
		msgs := append(past, providers.Message{Role: "user", Content: content})
		res, err := s.router.Chat(ctx, router.Call{UserID: in.UserID, Service: storage.ServiceChat, RequestID: in.RequestID, Provider: in.Provider},
			providers.ChatRequest{Messages: msgs}, onDelta)
		if err != nil {
			return Reply{}, rag.ModelError(err)
		}
		answer.Content, answer.Provider, answer.Model, answer.CostMicros = res.Text, res.Provider, res.Model, res.CostMicros
		answer.Tier, answer.Arm, answer.LatencyMs, answer.Groundedness = res.Tier, res.Arm, res.LatencyMs, -1
		reply.Cost, reply.Reasons = rag.NewCost(res.CostMicros, res.BaselineMicros), res.Reasons
		answer.Reasons, answer.Cached = res.Reasons, res.Cache
	}
	answer.CreatedAt = s.opts.Now().UTC()
	if err := s.store.AddMessage(context.WithoutCancel(ctx), answer); err != nil {
		return Reply{}, err
	}
	reply.Assistant = answer
	return reply, nil
}

func (s *Service) hasDocuments(ctx context.Context, userID string) (bool, error) {
	docs, err := s.store.ReadableDocuments(ctx, userID)
	if err != nil {
		return false, err
	}
	for _, d := range docs {
		if d.Status == storage.DocumentReady {
			return true, nil
		}
	}
	return false, nil
}
