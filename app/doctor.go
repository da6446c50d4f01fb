package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/penny-dev/penny/app/config"
	"github.com/penny-dev/penny/migrations"
	"github.com/penny-dev/penny/providers/local"
	"github.com/penny-dev/penny/storage/bolt"
	"github.com/penny-dev/penny/storage/cache/redis"
	"github.com/penny-dev/penny/storage/postgres"
	"github.com/penny-dev/penny/vector/hnsw"
	"github.com/penny-dev/penny/vector/keyword"
)

// doctor collects the findings of `penny doctor`.
type doctor struct {
	out      io.Writer
	failures int
	// indexModel is the embedding model the index is bound to
	// ("provider/model"), read from the store.
	indexModel string
}

func (d *doctor) ok(check, format string, args ...any) {
	fmt.Fprintf(d.out, "ok    %-11s %s\n", check, fmt.Sprintf(format, args...))
}

func (d *doctor) warn(check, what, fix string) {
	fmt.Fprintf(d.out, "warn  %-11s %s\n", check, what)
	if fix != "" {
		fmt.Fprintf(d.out, "      %-11s fix: %s\n", "", fix)
	}
}

func (d *doctor) fail(check, what, fix string) {
	d.failures++
	fmt.Fprintf(d.out, "FAIL  %-11s %s\n", check, what)
	if fix != "" {
		fmt.Fprintf(d.out, "      %-11s fix: %s\n", "", fix)
	}
}

// Doctor is `penny doctor`: it checks the configuration, the data dir
// (permissions, free space), the store's schema, the search indexes
// against the store, the embedding model, and every configured provider
// (reachable, priced, not deprecated), and prints what to fix. It
// changes nothing and returns an error when a check failed. While a
// server holds the data dir, the store and index checks are replaced by
// the server's readiness.
func Doctor(ctx context.Context, cfg config.Config, out io.Writer) error {
	d := &doctor{out: out}
	d.ok("config", "loaded (address %s, data dir %s, registration %s)", cfg.Addr, cfg.DataDir, orDefault(cfg.Registration, "invite once the first user exists"))
	if d.dataDir(cfg) || cfg.Scaled() { // scale-out keeps nothing shared in the data dir
		d.store(ctx, cfg)
	}
	d.providers(ctx, cfg)
	if d.failures > 0 {
		return fmt.Errorf("%d check(s) failed", d.failures)
	}
	fmt.Fprintln(out, "all checks passed")
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// dataDir checks that the data dir exists, is private, writable and has
// room; false when the store cannot be checked.
func (d *doctor) dataDir(cfg config.Config) bool {
	dir := cfg.DataDir
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		d.warn("data dir", dir+" does not exist yet", "penny serve creates it; or mkdir -m 700 "+dir)
		return false
	case err != nil:
		d.fail("data dir", err.Error(), "check the path in PENNY_DATA_DIR")
		return false
	case !st.IsDir():
		d.fail("data dir", dir+" is not a directory", "point PENNY_DATA_DIR at a directory")
		return false
	}
	f, err := os.CreateTemp(dir, ".doctor-*")
	switch {
	case errors.Is(err, syscall.EROFS):
		d.fail("data dir", dir+" is on a read-only filesystem: "+err.Error(), "remount it read-write (mount -o remount,rw), or move the data dir")
		return false
	case err != nil:
		d.fail("data dir", dir+" is not writable: "+err.Error(), "chown the directory to the user that runs penny")
		return false
	}
	_ = f.Close()
	_ = os.Remove(f.Name())
	if st.Mode().Perm()&0o077 != 0 {
		d.warn("data dir", fmt.Sprintf("%s is %v: other users can read it (documents, ledger)", dir, st.Mode().Perm()), "chmod 700 "+dir)
	} else {
		d.ok("data dir", "%s is private (%v) and writable", dir, st.Mode().Perm())
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err == nil {
		free := int64(fs.Bavail) * int64(fs.Bsize)
		switch {
		case free < 256<<20:
			d.fail("disk", fmt.Sprintf("%s free on the data dir's disk", FormatBytes(free)), "free space, or move the data dir (see docs/operations.md, disk growing)")
		case free < 2<<30:
			d.warn("disk", fmt.Sprintf("only %s free on the data dir's disk", FormatBytes(free)), "penny compact reclaims store pages; see docs/operations.md, disk growing")
		default:
			d.ok("disk", "%s free", FormatBytes(free))
		}
	}
	return true
}

// shared checks the engines of scale-out mode: the PostgreSQL schema and
// contents, Redis, and the S3 bucket.
func (d *doctor) shared(ctx context.Context, cfg config.Config) {
	have, want, err := postgres.Status(ctx, cfg.DatabaseURL)
	switch {
	case err != nil:
		d.fail("database", err.Error(), "check PENNY_DATABASE_URL and that PostgreSQL is up")
		return
	case have < want:
		d.fail("database", fmt.Sprintf("schema at version %d, this penny needs %d", have, want), "penny migrate up")
		return
	case have > want:
		d.fail("database", fmt.Sprintf("schema at version %d, newer than this penny (%d)", have, want), "upgrade penny")
		return
	}
	st, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		d.fail("database", err.Error(), "")
		return
	}
	defer st.Close()
	users, _ := st.CountUsers(ctx)
	chunks, _ := st.CountChunks(ctx)
	d.ok("database", "PostgreSQL schema %d, %d account(s), %d chunk(s)", have, users, chunks)
	if cfg.RedisURL == "" {
		d.warn("redis", "PENNY_REDIS_URL is not set", "set it before running a second replica (docs/scale-out.md)")
	} else if c, err := redis.Open(ctx, cfg.RedisURL); err != nil {
		d.fail("redis", err.Error(), "check PENNY_REDIS_URL and that Redis is up")
	} else {
		_ = c.Close()
		d.ok("redis", "answers")
	}
	if cfg.S3.Endpoint != "" {
		if _, err := sharedBlobs(ctx, cfg, st); err != nil {
			d.fail("uploads", err.Error(), "check PENNY_S3_ENDPOINT, PENNY_S3_BUCKET and the keys")
		} else {
			d.ok("uploads", "bucket %s at %s", cfg.S3.Bucket, cfg.S3.Endpoint)
		}
	} else {
		d.ok("uploads", "in PostgreSQL (no PENNY_S3_ENDPOINT)")
	}
}

// store checks the schema and the indexes against the store.
func (d *doctor) store(ctx context.Context, cfg config.Config) {
	if cfg.Scaled() {
		d.shared(ctx, cfg)
		return
	}
	if _, err := os.Stat(cfg.StorePath()); errors.Is(err, os.ErrNotExist) {
		d.warn("store", cfg.StorePath()+" does not exist yet", "start penny serve once")
		return
	}
	st, err := openStore(cfg, bolt.Options{ReadOnly: true}) // the doctor changes nothing
	if errors.Is(err, ErrServing) {
		d.serving(ctx, cfg)
		return
	}
	if err != nil {
		if errors.Is(err, bolt.ErrSchemaTooNew) {
			d.fail("store", err.Error(), "run the penny release that wrote this data dir, or a newer one")
		} else {
			d.fail("store", err.Error(), "restore the last backup: penny restore --from FILE (docs/operations.md)")
		}
		return
	}
	defer st.Close()
	v, err := st.SchemaVersion(ctx)
	if err != nil {
		d.fail("store", "schema version unreadable: "+err.Error(), "restore the last backup (docs/operations.md)")
		return
	}
	size := int64(0)
	if fi, err := os.Stat(cfg.StorePath()); err == nil {
		size = fi.Size()
	}
	users, _ := st.CountUsers(ctx)
	chunks, err := st.CountChunks(ctx)
	if err != nil {
		d.fail("store", err.Error(), "")
		return
	}
	d.ok("store", "schema %d (this build writes %d), %d account(s), %d chunk(s), %s", v, migrations.BoltSchemaVersion, users, chunks, FormatBytes(size))

	// The keyword index must hold every stored chunk.
	kwPath := cfg.KeywordIndexPath()
	if _, err := os.Stat(kwPath); errors.Is(err, os.ErrNotExist) {
		if chunks > 0 {
			d.warn("index", "the keyword index is missing", "penny serve rebuilds it at start; or run penny reindex")
		}
	} else if kw, err := keyword.Open(kwPath); err != nil {
		d.fail("index", "keyword index unreadable: "+err.Error(), "penny reindex")
	} else {
		n, err := kw.Len()
		_ = kw.Close()
		if err != nil || n != chunks {
			d.fail("index", fmt.Sprintf("the keyword index holds %d chunks, the store %d", n, chunks), "penny reindex (penny serve also rebuilds it at start)")
		} else {
			d.ok("index", "keyword index agrees with the store (%d chunks)", n)
		}
	}

	// The vector snapshot must be of the recorded model and exactly the
	// stored chunks, else the next start rebuilds it.
	model, _ := st.GetSetting(ctx, embedSetting)
	snap := filepath.Join(filepath.Dir(kwPath), "vectors.hnsw")
	x, snapModel, err := hnsw.Load(snap, hnsw.Options{})
	switch {
	case errors.Is(err, os.ErrNotExist):
		if chunks > 0 {
			d.warn("index", "no vector snapshot: the next start rebuilds the vector index from the store", "none needed; penny reindex does it ahead of time")
		}
	case err != nil:
		d.warn("index", "vector snapshot unreadable: "+err.Error(), "penny reindex")
	default:
		var stored hnsw.Fingerprint
		_ = st.EachChunkID(ctx, func(id string) error { stored.Add(id); return nil })
		_, recorded, _ := strings.Cut(string(model), "/")
		if x.Fingerprint() != stored || (recorded != "" && snapModel != recorded) {
			d.warn("index", "the vector snapshot is stale (the next start rebuilds it)", "penny reindex")
		} else {
			d.ok("index", "vector snapshot agrees with the store (%d vectors, %s)", x.Len(), snapModel)
		}
	}
	if len(model) > 0 {
		d.indexModel = string(model)
		d.ok("embeddings", "the index is bound to %s", model)
	}
}

// serving asks the running server whether it is ready.
func (d *doctor) serving(ctx context.Context, cfg config.Config) {
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		d.warn("store", "a penny serve holds the data dir; its address is unreadable", "")
		return
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	url := "http://" + net.JoinHostPort(host, port) + "/readyz"
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.fail("store", "a process holds "+cfg.StorePath()+" but "+url+" does not answer: "+err.Error(),
			"find it (fuser "+cfg.StorePath()+") and stop it; then start penny serve")
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		d.fail("store", fmt.Sprintf("penny serve holds the data dir and %s answers %d", url, resp.StatusCode), "read its log; docs/operations.md")
		return
	}
	d.ok("store", "penny serve holds the data dir and is ready (%s); stop it to check the store and indexes", url)
}

// providers builds the configured providers and pings each (free calls).
func (d *doctor) providers(ctx context.Context, cfg config.Config) {
	ps, err := buildProviders(ctx, cfg.Providers, slog.New(slog.DiscardHandler), time.Now())
	if err != nil {
		d.fail("providers", err.Error(), "fix the provider settings (docs/configuration.md#providers-and-routing)")
		return
	}
	names := make([]string, 0, len(ps.pingers))
	for name := range ps.pingers {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(names) == 0 {
		d.ok("providers", "none configured: the built-in offline provider answers (extractive, free)")
	}
	for _, name := range names {
		pctx, cancel := context.WithTimeout(ctx, cfg.Providers.Timeout)
		start := time.Now()
		err := ps.pingers[name].Ping(pctx)
		cancel()
		if err != nil {
			d.fail("providers", name+" does not answer: "+err.Error(), "check its key and base URL; penny providers check makes one real call each")
			continue
		}
		d.ok("providers", "%s answers (%s)", name, time.Since(start).Round(time.Millisecond))
	}
	// Prices: every candidate is priced (New refuses otherwise); say how
	// old the prices are and whether a configured model is deprecated.
	oldest := ""
	for _, list := range ps.tiers {
		for _, c := range list {
			m, err := ps.catalog.Lookup(c.Provider, c.Model)
			if err != nil {
				continue
			}
			if m.PriceDate != "" && (oldest == "" || m.PriceDate < oldest) {
				oldest = m.PriceDate
			}
			if m.Deprecated != "" {
				d.warn("catalog", fmt.Sprintf("%s/%s is deprecated from %s", m.Provider, m.ID, m.Deprecated), "route to a current model (PENNY_ROUTE_<TIER>)")
			}
		}
	}
	if t, err := time.Parse("2006-01-02", oldest); err == nil && time.Since(t) > 180*24*time.Hour {
		d.warn("catalog", "the oldest price in use was read on "+oldest, "check the providers' price pages; override with PENNY_CATALOG_FILE")
	} else if oldest != "" {
		d.ok("catalog", "every routed model is priced (oldest price read %s)", oldest)
	}
	if cfg.Providers.EmbedModel != "auto" {
		if _, id, _ := strings.Cut(cfg.Providers.EmbedModel, "/"); len(ps.embedders[id]) == 0 {
			d.fail("embeddings", "PENNY_EMBED_MODEL="+cfg.Providers.EmbedModel+" has no configured host", "configure its provider or unset PENNY_EMBED_MODEL")
		}
	}
	if provider, id, ok := strings.Cut(d.indexModel, "/"); ok && provider != local.Name && len(ps.embedders[id]) == 0 {
		d.fail("embeddings", "the index is bound to "+d.indexModel+", which no configured provider hosts: questions use keyword retrieval and uploads wait",
			"configure "+provider+" again (design rule 1: an index never changes model silently)")
	}
}

// FormatBytes formats a byte count for people (1.5 GiB).
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
