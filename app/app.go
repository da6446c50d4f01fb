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
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/penny-dev/penny/app/auth"
	"github.com/penny-dev/penny/app/budgets"
	"github.com/penny-dev/penny/app/chat"
	"github.com/penny-dev/penny/app/config"
	"github.com/penny-dev/penny/app/costs"
	"github.com/penny-dev/penny/app/documents"
	"github.com/penny-dev/penny/app/gateway"
	"github.com/penny-dev/penny/app/metrics"
	"github.com/penny-dev/penny/app/quality"
	"github.com/penny-dev/penny/app/rag"
	"github.com/penny-dev/penny/app/retrieval"
	"github.com/penny-dev/penny/app/routing"
	"github.com/penny-dev/penny/providers/catalog"
	"github.com/penny-dev/penny/providers/local"
	"github.com/penny-dev/penny/providers/router"
	"github.com/penny-dev/penny/storage"
	"github.com/penny-dev/penny/storage/blobfs"
	"github.com/penny-dev/penny/storage/blobs3"
	"github.com/penny-dev/penny/storage/bolt"
	"github.com/penny-dev/penny/storage/cache"
	"github.com/penny-dev/penny/storage/cache/lru"
	"github.com/penny-dev/penny/storage/cache/redis"
	"github.com/penny-dev/penny/storage/postgres"
	"github.com/penny-dev/penny/vector"
	"github.com/penny-dev/penny/vector/hnsw"
	"github.com/penny-dev/penny/vector/keyword"
	"github.com/penny-dev/penny/vector/pgvector"
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
	Routing   *routing.Service
	Gateway   *gateway.Service
	Budgets   *budgets.Service
	Quality   *quality.Service
	Metrics   *metrics.Metrics
	// Cache is nil when caching is off.
	Cache cache.Cache
	// EmbedModel is the embedding model the search index is bound to.
	EmbedModel catalog.Model
	// Started is when New finished.
	Started time.Time

	stop  context.CancelFunc
	wg    sync.WaitGroup
	pdf   *documents.Pdfium
	redis *redis.Client // nil unless PENNY_REDIS_URL
}

// NewLogger builds the slog logger the configuration asks for.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: redactAttr(NewRedactor(cfg.Secrets()))}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// New opens the data dir and builds the App. On error nothing stays open.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger, version string) (_ *App, err error) {
	// a is not the named result: "return nil, err" must not clear it
	// before the deferred Close runs.
	a := &App{Config: cfg, Logger: logger, Version: version, Catalog: catalog.Default()}
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("app: data dir %s: %w", cfg.DataDir, err)
	}
	st, blobs, err := openStores(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a.Store = st
	if cfg.RedisURL != "" {
		if a.redis, err = redis.Open(ctx, cfg.RedisURL); err != nil {
			return nil, err
		}
	} else if cfg.Scaled() {
		logger.Warn("PENNY_DATABASE_URL without PENNY_REDIS_URL: fine for one replica; several would not share budget spend, rate limits, caches or settings changes")
	}

	ps, err := buildProviders(ctx, cfg.Providers, logger, time.Now())
	if err != nil {
		return nil, err
	}
	a.Catalog = ps.catalog
	var limiter gateway.RateLimiter
	if a.redis != nil {
		limiter = a.redis.Limiter()
	}
	a.Gateway = gateway.New(gateway.Options{Catalog: ps.catalog, ChatModels: ps.chatModels(), EmbedModels: ps.embedModels(),
		DefaultRPM: cfg.GatewayRPM, Limiter: limiter})
	var tally budgets.Tally
	if a.redis != nil {
		tally = a.redis.Tally()
	}
	a.Budgets, err = budgets.New(ctx, st, budgets.Options{Defaults: cfg.Budgets, Logger: logger, Tally: tally})
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.CacheSize > 0 && a.redis != nil:
		a.Cache = a.redis.Cache(cfg.CacheTTLs)
	case cfg.CacheSize > 0:
		a.Cache = lru.New(cfg.CacheSize, cfg.CacheTTLs)
	}
	a.Metrics = metrics.New(metrics.Sources{
		Health:       func() []router.Health { return a.Router.Health() },
		GlobalBudget: a.Budgets.Global,
	})
	a.Router, err = router.New(router.Config{
		Catalog: ps.catalog, Tiers: ps.tiers, Control: ps.control, Embedders: ps.embedders, Pingers: ps.pingers,
		Free: ps.free, Ledger: metrics.Ledger{Ledger: st, M: a.Metrics}, Budget: a.Budgets, Cache: a.Cache, Logger: logger,
		BreakerOpened: a.announceBreaker, Redact: NewRedactor(cfg.Secrets()).String,
	})
	if err != nil {
		return nil, err
	}
	a.Routing, err = routing.New(ctx, st, a.Router, router.Settings{CheapPercent: cfg.Providers.CheapPercent, ShadowPercent: cfg.Providers.ShadowPercent}, cfg.Providers.ForceProvider)
	if err != nil {
		return nil, err
	}
	if a.EmbedModel, err = a.chooseEmbedModel(ctx, ps); err != nil {
		return nil, err
	}
	a.Gateway.SetEmbedModel(a.EmbedModel.ID)
	if err := a.openIndexes(ctx); err != nil {
		return nil, err
	}

	var failures auth.Failures
	if a.redis != nil {
		failures = a.redis.Failures()
	}
	a.Auth, err = auth.New(ctx, st, auth.Options{
		Registration: cfg.Registration, AccessTTL: cfg.AccessTokenTTL, RefreshTTL: cfg.RefreshTokenTTL, ReuseGrace: cfg.RefreshReuseGrace,
		Password:  auth.PasswordParams{MemoryKiB: cfg.PasswordMemoryKiB, Time: cfg.PasswordTime, Threads: cfg.PasswordThreads},
		LoginFree: cfg.LoginMaxFailures, Logger: logger, Failures: failures,
	})
	if err != nil {
		return nil, err
	}
	a.pdf = &documents.Pdfium{}
	a.Documents = documents.New(st, a.Router, a.Indexes, documents.Options{
		Blobs: blobs, Shared: cfg.Scaled(), MaxFileBytes: cfg.MaxFileBytes, EmbedModel: a.EmbedModel.ID, Logger: logger,
		PDF: a.pdf, Limits: documents.Limits{MaxPages: cfg.MaxPages, MaxUnpackedBytes: cfg.MaxUnpackedBytes}, MaxChunks: cfg.MaxChunks,
		Chunker: documents.Chunker{Target: cfg.ChunkTokens, Overlap: cfg.ChunkOverlap},
	})
	a.RAG = rag.New(st, a.Router, a.Indexes, rag.Options{EmbedModel: a.EmbedModel.ID, MaxChunks: cfg.RAGMaxChunks, Logger: logger,
		Cache: a.Cache, SemanticThreshold: cfg.SemanticThreshold, Cascade: cfg.CascadeTiers, MinGroundedness: cfg.CascadeMinGroundedness})
	a.Quality = quality.New(st, nil)
	a.Chat = chat.New(st, a.RAG, a.Router, chat.Options{})
	a.Costs = costs.New(st)
	a.Costs.Quality = a.qualityLines
	var bg context.Context
	bg, a.stop = context.WithCancel(context.Background())
	if cfg.IngestWorkers > 0 { // 0: maintenance commands, which ingest nothing
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.Documents.Run(bg, cfg.IngestWorkers)
		}()
	}
	a.startProbes(bg, cfg.Providers.ProbeInterval)
	if a.redis != nil {
		if err := a.shareSettings(bg); err != nil {
			return nil, err
		}
	}
	a.Started = time.Now()
	return a, nil
}

// embedSetting records the index's embedding model ("provider/model").
const embedSetting = "retrieval.embed_model"

// chooseEmbedModel returns the model the index is bound to: the recorded
// one; else the model of chunks already stored; else the configured one;
// else the cheapest configured (Cloudflare bge-m3, OpenAI
// text-embedding-3-small, the built-in embedder). The choice is recorded,
// so an index never changes model silently (design rule 1).
func (a *App) chooseEmbedModel(ctx context.Context, ps *providerSet) (catalog.Model, error) {
	lookup := func(ref string) (catalog.Model, error) {
		provider, id, _ := strings.Cut(ref, "/")
		if provider != "" && id != "" {
			if m, err := ps.catalog.Lookup(provider, id); err == nil {
				return m, nil
			}
		}
		for _, m := range ps.catalog.Models() { // a bare model id
			if m.Kind == "embedding" && (m.ID == ref || m.ID == id) {
				return m, nil
			}
		}
		return catalog.Model{}, fmt.Errorf("app: embedding model %q is not in the catalog", ref)
	}
	choice := ""
	if raw, err := a.Store.GetSetting(ctx, embedSetting); err == nil {
		choice = string(raw)
	} else if !errors.Is(err, storage.ErrNotFound) {
		return catalog.Model{}, err
	}
	if choice == "" {
		errFound := errors.New("found")
		err := a.Store.EachChunk(ctx, func(c storage.Chunk) error { choice = c.EmbedModel; return errFound })
		if err != nil && !errors.Is(err, errFound) {
			return catalog.Model{}, err
		}
	}
	if choice == "" && a.Config.Providers.EmbedModel != "auto" {
		choice = a.Config.Providers.EmbedModel
		if provider, id, _ := strings.Cut(choice, "/"); len(ps.embedders[id]) == 0 {
			return catalog.Model{}, fmt.Errorf("app: PENNY_EMBED_MODEL=%s, but %s is not configured", choice, provider)
		}
	}
	if choice == "" {
		for _, ref := range []string{"cloudflare/@cf/baai/bge-m3", "openai/text-embedding-3-small"} {
			if _, id, _ := strings.Cut(ref, "/"); len(ps.embedders[id]) > 0 {
				choice = ref
				break
			}
		}
	}
	if choice == "" {
		choice = local.Name + "/" + local.EmbedModel
	}
	m, err := lookup(choice)
	if err != nil {
		return m, err
	}
	if _, err := a.Store.PutSettingIfAbsent(ctx, embedSetting, []byte(m.Provider+"/"+m.ID)); err != nil {
		return m, err
	}
	if len(ps.embedders[m.ID]) == 0 {
		a.Logger.Warn("the index's embedding model has no configured host: questions use keyword retrieval and uploads wait until it is back",
			slog.String("model", m.Provider+"/"+m.ID))
	}
	a.Logger.Info("search index", slog.String("embeddingModel", m.Provider+"/"+m.ID), slog.Int("dimensions", m.Dimensions))
	return m, nil
}

// startProbes pings the providers every interval until ctx ends.
func (a *App) startProbes(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			a.Router.Probe(ctx, 10*time.Second)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// openIndexes opens the keyword index and the vector index: from its
// snapshot when the snapshot matches the store (same embedding model, same
// chunks), else rebuilt from the stored vectors. The keyword index is
// rebuilt when it disagrees with the store or cannot be opened.
func (a *App) openIndexes(ctx context.Context) error {
	if pg, ok := a.Store.(*postgres.Store); ok {
		return a.openSharedIndexes(ctx, pg)
	}
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
	newVectors := func() vector.Index { return hnsw.New(a.EmbedModel.Dimensions, hnsw.Options{}) }
	a.Indexes = &retrieval.Indexes{EmbedModel: a.EmbedModel.ID, Vectors: newVectors(), NewVectors: newVectors, Logger: a.Logger,
		Weights: a.hybridWeights()}
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
	loaded := a.loadVectorSnapshot(ctx)
	if err := a.Indexes.Load(ctx, a.Store, rebuild, loaded); err != nil {
		return err
	}
	a.Logger.Info("indexes loaded", slog.Int("chunks", a.Indexes.Vectors.Len()), slog.Bool("fromSnapshot", loaded), slog.Duration("took", time.Since(start)))
	return nil
}

// hybridWeights are the configured fusion weights or the measured default.
func (a *App) hybridWeights() [2]float64 {
	if a.Config.HybridWeights != [2]float64{} {
		return a.Config.HybridWeights
	}
	// Measured on SciFact: the built-in hashing embedder adds nothing to
	// BM25 in fusion (any weight lowered nDCG@10), so it only fills in;
	// real embedding models fuse equally.
	if a.EmbedModel.Provider == local.Name {
		return [2]float64{0, 1}
	}
	return [2]float64{1, 1}
}

// openSharedIndexes puts the indexes in the PostgreSQL database of the
// store (scale-out mode): every replica searches what any replica wrote.
// At start they are checked against the chunks and refilled if they
// disagree (a crash between the chunk commit and the index write).
func (a *App) openSharedIndexes(ctx context.Context, pg *postgres.Store) error {
	vec, err := pgvector.Open(ctx, pg.Pool(), a.EmbedModel.ID, a.EmbedModel.Dimensions)
	if err != nil {
		return err
	}
	kw := pgvector.NewKeywords(pg.Pool())
	a.Indexes = &retrieval.Indexes{EmbedModel: a.EmbedModel.ID, Vectors: vec, Keywords: kw, NewVectors: func() vector.Index { return vec },
		Logger: a.Logger, Weights: a.hybridWeights()}
	stored, err := a.Store.CountChunks(ctx)
	if err != nil {
		return err
	}
	rebuild := func() (vector.KeywordIndex, error) { return kw, kw.Clear(ctx) }
	if err := a.Indexes.Load(ctx, a.Store, rebuild, vec.Len() == stored); err != nil {
		return err
	}
	a.Logger.Info("indexes in PostgreSQL", slog.Int("chunks", vec.Len()), slog.String("table", pgvector.TableName(a.EmbedModel.ID)))
	return nil
}

func (a *App) vectorSnapshotPath() string {
	return filepath.Join(filepath.Dir(a.Config.KeywordIndexPath()), "vectors.hnsw")
}

// loadVectorSnapshot uses the HNSW snapshot if it was built with the
// index's model from exactly the chunks in the store.
func (a *App) loadVectorSnapshot(ctx context.Context) bool {
	x, model, err := hnsw.Load(a.vectorSnapshotPath(), hnsw.Options{})
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if err != nil {
		a.Logger.Warn("vector snapshot unreadable; rebuilding from the store", slog.Any("error", err))
		return false
	}
	var stored hnsw.Fingerprint
	if err := a.Store.EachChunkID(ctx, func(id string) error { stored.Add(id); return nil }); err != nil {
		return false
	}
	if model != a.EmbedModel.ID || x.Fingerprint() != stored {
		a.Logger.Warn("vector snapshot is stale; rebuilding from the store", slog.String("model", model))
		return false
	}
	a.Indexes.Vectors = x
	return true
}

// Ready reports whether the App can serve: the store answers.
func (a *App) Ready(ctx context.Context) error {
	_, err := a.Store.SchemaVersion(ctx)
	return err
}

// Close stops background work, flushes the indexes and closes the store.
// breakerNotice prefixes bus messages that say a breaker opened:
// "breaker\t<provider/model>\t<open until, unix ms>".
const breakerNotice = "breaker\t"

// announceBreaker tells the other replicas that a provider's breaker
// opened here, so that they skip it too (scale-out with Redis).
func (a *App) announceBreaker(key string, until time.Time) {
	if a.redis == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		msg := breakerNotice + key + "\t" + strconv.FormatInt(until.UnixMilli(), 10)
		if err := a.redis.Bus().Publish(ctx, msg); err != nil {
			a.Logger.Warn("announce an open breaker", slog.String("model", key), slog.Any("error", err))
		}
	}()
}

// heldOpen applies another replica's breaker notice.
func (a *App) heldOpen(msg string) {
	key, ms, ok := strings.Cut(strings.TrimPrefix(msg, breakerNotice), "\t")
	until, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil {
		a.Logger.Warn("unreadable breaker notice", slog.String("notice", msg))
		return
	}
	a.Router.HoldOpen(key, time.UnixMilli(until))
}

// shareSettings makes an admin's change on any replica apply on all: a
// change is stored, then announced on the Redis bus, and every replica
// reloads it from the store. Breakers that open are announced the same way.
func (a *App) shareSettings(ctx context.Context) error {
	bus := a.redis.Bus()
	announce := func(key string) func(context.Context) {
		return func(ctx context.Context) {
			if err := bus.Publish(context.WithoutCancel(ctx), key); err != nil {
				a.Logger.Error("announce a settings change", slog.String("key", key), slog.Any("error", err))
			}
		}
	}
	a.Routing.Changed = announce(routing.SettingKey)
	a.Budgets.Changed = announce(budgets.LimitsKey)
	return bus.Subscribe(ctx, func(key string) {
		if strings.HasPrefix(key, breakerNotice) {
			a.heldOpen(key)
			return
		}
		var err error
		switch key {
		case routing.SettingKey:
			err = a.Routing.Reload(ctx)
		case budgets.LimitsKey:
			err = a.Budgets.Reload(ctx)
		default:
			return
		}
		if err != nil {
			a.Logger.Error("reload a changed setting", slog.String("key", key), slog.Any("error", err))
			return
		}
		a.Logger.Info("setting changed on a replica: reloaded", slog.String("key", key))
	})
}

func (a *App) Close() error {
	if a.stop != nil {
		a.stop()
	}
	a.wg.Wait()
	if a.Router != nil {
		a.Router.Close() // shadow calls book on the ledger: before the store closes
	}
	if a.Budgets != nil {
		a.Budgets.Close()
	}
	if a.pdf != nil {
		_ = a.pdf.Close()
	}
	var errs []error
	if a.Indexes != nil {
		if x, ok := a.Indexes.Vectors.(*hnsw.Index); ok {
			if err := x.Save(a.vectorSnapshotPath(), a.EmbedModel.ID); err != nil {
				errs = append(errs, fmt.Errorf("app: save vector snapshot: %w", err))
			}
		}
		if a.Indexes.Keywords != nil {
			errs = append(errs, a.Indexes.Keywords.Close())
		}
	}
	if a.Store != nil {
		errs = append(errs, a.Store.Close())
	}
	if a.redis != nil {
		errs = append(errs, a.redis.Close())
	}
	return errors.Join(errs...)
}

// openStores opens the records and the blob store: PostgreSQL in scale-out
// mode (PENNY_DATABASE_URL), else the data dir.
func openStores(ctx context.Context, cfg config.Config) (storage.Store, storage.BlobStore, error) {
	if cfg.Scaled() {
		st, err := postgres.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return nil, nil, err
		}
		blobs, err := sharedBlobs(ctx, cfg, st)
		if err != nil {
			_ = st.Close()
			return nil, nil, err
		}
		return st, blobs, nil
	}
	st, err := bolt.Open(cfg.StorePath(), bolt.Options{})
	if err != nil {
		return nil, nil, err
	}
	return st, blobfs.New(cfg.FilesDir()), nil
}

// sharedBlobs is where scale-out mode keeps uploads: the S3 bucket when one
// is configured, else PostgreSQL.
func sharedBlobs(ctx context.Context, cfg config.Config, pg *postgres.Store) (storage.BlobStore, error) {
	if cfg.S3.Endpoint == "" {
		return pg, nil
	}
	return blobs3.Open(ctx, blobs3.Options{Endpoint: cfg.S3.Endpoint, Bucket: cfg.S3.Bucket, AccessKey: cfg.S3.AccessKey,
		SecretKey: cfg.S3.SecretKey, Region: cfg.S3.Region, Prefix: cfg.S3.Prefix})
}

// CreateUser opens only the store and auth to create one account (the
// `penny user create` command), then closes them.
func CreateUser(ctx context.Context, cfg config.Config, logger *slog.Logger, email, password string, role storage.Role) (storage.User, error) {
	st, _, err := openStores(ctx, cfg)
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

// UserEmail names a user for reports ("" when unknown).
func (a *App) UserEmail(id string) string {
	u, err := a.Store.UserByID(context.Background(), id)
	if err != nil {
		return ""
	}
	return u.Email
}

// CostsReport writes a month's savings report from the store alone (the
// `penny costs report` command; the data dir must not be in use).
func CostsReport(ctx context.Context, cfg config.Config, month time.Time, format string, w io.Writer) error {
	st, _, err := openStores(ctx, cfg)
	if err != nil {
		return fmt.Errorf("%w (while penny serve runs, use GET /api/costs/report)", err)
	}
	defer st.Close()
	return costs.New(st).Report(ctx, costs.Query{IsAdmin: true}, month, format, time.Now(), w)
}

// qualityLines adapts the quality report for the costs report.
func (a *App) qualityLines(ctx context.Context, from, to time.Time) ([]costs.QualityLine, error) {
	r, err := a.Quality.Report(ctx, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]costs.QualityLine, len(r.Rows))
	for i, row := range r.Rows {
		out[i] = costs.QualityLine{Provider: row.Provider, Model: row.Model, Arm: row.Arm, Answers: row.Answers, Rated: row.Rated,
			Satisfaction: row.Satisfaction, GroundednessSamples: row.Grounded, Groundedness: row.Groundedness}
	}
	return out, nil
}
