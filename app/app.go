// Package app wires penny together once: configuration, logger, store,
// indexes, providers and router, and the capability services. Commands
// build an App with New, use it, and Close it.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/penny-dev/penny/app/auth"
	"github.com/penny-dev/penny/app/chat"
	"github.com/penny-dev/penny/app/config"
	"github.com/penny-dev/penny/app/costs"
	"github.com/penny-dev/penny/app/documents"
	"github.com/penny-dev/penny/app/rag"
	"github.com/penny-dev/penny/app/retrieval"
	"github.com/penny-dev/penny/providers/catalog"
	"github.com/penny-dev/penny/providers/local"
	"github.com/penny-dev/penny/providers/router"
	"github.com/penny-dev/penny/storage"
	"github.com/penny-dev/penny/storage/bolt"
	"github.com/penny-dev/penny/vector"
	"github.com/penny-dev/penny/vector/exact"
	"github.com/penny-dev/penny/vector/keyword"
)

// App is one running penny: every long-lived component, built once.
type App struct {
	Config    config.Config
	Logger    *slog.Logger
	Version   string
	Store     storage.Store
	Catalog   *catalog.Catalog
	Router    *router.Router
	Indexes   *retrieval.Indexes
	Auth      *auth.Service
	Documents *documents.Service
	RAG       *rag.Service
	Chat      *chat.Service
	Costs     *costs.Service
	// Started is when New finished.
	Started time.Time
}

// NewLogger builds the slog logger the configuration asks for.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// New opens the data dir and builds the App. On error nothing stays open.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger, version string) (a *App, err error) {
	a = &App{Config: cfg, Logger: logger, Version: version, Catalog: catalog.Default()}
	defer func() {
		if err != nil {
			_ = a.Close()
			a = nil
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("app: data dir %s: %w", cfg.DataDir, err)
	}
	st, err := bolt.Open(cfg.StorePath(), bolt.Options{})
	if err != nil {
		return nil, err
	}
	a.Store = st

	offline := local.New()
	a.Router, err = router.New(router.Config{
		Catalog: a.Catalog,
		Chat:    []router.ChatCandidate{{Provider: local.Name, Model: local.ChatModel, Client: offline}},
		Embedders: map[string][]router.EmbedHost{
			local.EmbedModel: {{Provider: local.Name, Client: offline}},
		},
		Ledger: st, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	logger.Info("providers active", slog.String("chat", "local/"+local.ChatModel), slog.String("embedding", "local/"+local.EmbedModel))

	if err := a.openIndexes(ctx); err != nil {
		return nil, err
	}

	a.Auth, err = auth.New(ctx, st, auth.Options{
		Registration: cfg.Registration, AccessTTL: cfg.AccessTokenTTL, RefreshTTL: cfg.RefreshTokenTTL,
		Password:  auth.PasswordParams{MemoryKiB: cfg.PasswordMemoryKiB, Time: cfg.PasswordTime, Threads: cfg.PasswordThreads},
		LoginFree: cfg.LoginMaxFailures, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	a.Documents = documents.New(st, a.Router, a.Indexes, documents.Options{
		FilesDir: cfg.FilesDir(), MaxFileBytes: cfg.MaxFileBytes, EmbedModel: local.EmbedModel, Logger: logger,
		Chunker: documents.Chunker{Target: cfg.ChunkTokens, Overlap: cfg.ChunkOverlap},
	})
	a.RAG = rag.New(st, a.Router, a.Indexes, rag.Options{EmbedModel: local.EmbedModel, MaxChunks: cfg.RAGMaxChunks, Logger: logger})
	a.Chat = chat.New(st, a.RAG, a.Router, chat.Options{})
	a.Costs = costs.New(st)
	a.Started = time.Now()
	return a, nil
}

// openIndexes opens the keyword index and loads the vector index from the
// stored vectors, rebuilding the keyword index when it disagrees with the
// store (or cannot be opened).
func (a *App) openIndexes(ctx context.Context) error {
	path := a.Config.KeywordIndexPath()
	rebuild := func() (vector.KeywordIndex, error) {
		if a.Indexes.Keywords != nil {
			_ = a.Indexes.Keywords.Close()
		}
		if err := keyword.Remove(path); err != nil {
			return nil, err
		}
		return keyword.Open(path)
	}
	a.Indexes = &retrieval.Indexes{EmbedModel: local.EmbedModel, Vectors: exact.New(local.EmbedDimensions), Logger: a.Logger}
	var kw vector.KeywordIndex
	kw, err := keyword.Open(path)
	if err != nil {
		a.Logger.Warn("keyword index unreadable; rebuilding", slog.Any("error", err))
		if kw, err = rebuild(); err != nil {
			return err
		}
	}
	a.Indexes.Keywords = kw
	start := time.Now()
	if err := a.Indexes.Load(ctx, a.Store, rebuild); err != nil {
		return err
	}
	a.Logger.Info("indexes loaded", slog.Int("chunks", a.Indexes.Vectors.Len()), slog.Duration("took", time.Since(start)))
	return nil
}

// Ready reports whether the App can serve: the store answers.
func (a *App) Ready(ctx context.Context) error {
	_, err := a.Store.SchemaVersion(ctx)
	return err
}

// Close flushes the indexes and closes the store.
func (a *App) Close() error {
	var errs []error
	if a.Indexes != nil && a.Indexes.Keywords != nil {
		errs = append(errs, a.Indexes.Keywords.Close())
	}
	if a.Store != nil {
		errs = append(errs, a.Store.Close())
	}
	return errors.Join(errs...)
}

// CreateUser opens only the store and auth to create one account (the
// `penny user create` command), then closes them.
func CreateUser(ctx context.Context, cfg config.Config, logger *slog.Logger, email, password string, role storage.Role) (storage.User, error) {
	st, err := bolt.Open(cfg.StorePath(), bolt.Options{})
	if err != nil {
		return storage.User{}, fmt.Errorf("%w (while penny serve runs, create users with POST /api/admin/users)", err)
	}
	defer st.Close()
	a, err := auth.New(ctx, st, auth.Options{AccessTTL: cfg.AccessTokenTTL, RefreshTTL: cfg.RefreshTokenTTL, Logger: logger,
		Password: auth.PasswordParams{MemoryKiB: cfg.PasswordMemoryKiB, Time: cfg.PasswordTime, Threads: cfg.PasswordThreads}})
	if err != nil {
		return storage.User{}, err
	}
	return a.CreateUser(ctx, email, password, role)
}
