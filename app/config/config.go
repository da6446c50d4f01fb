// Package config is penny's typed configuration. Every setting has a flag,
// a PENNY_* environment variable (a secret may instead be read from the
// file named by the variable with _FILE appended) and a default; flags win
// over the environment, which wins over defaults. docs/configuration.md
// lists the same table and a test keeps the two in step.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/penny-dev/penny/app/budgets"
	"github.com/penny-dev/penny/storage/cache"
)

// Config is the whole configuration of one penny process.
type Config struct {
	// Addr is the listen address. Default ":8080".
	Addr string
	// DataDir holds the store, the indexes and uploaded files. Default "./data".
	DataDir string
	// DatabaseURL, when set, puts the records and uploads in PostgreSQL
	// (scale-out mode: several replicas share it) instead of the data dir.
	DatabaseURL string
	// RedisURL, when set, shares caches, budget spend and settings changes
	// between replicas through Redis.
	RedisURL string
	// secrets are the values of the secret settings (Secrets).
	secrets []string

	// S3 is the object store for uploads in scale-out mode (Endpoint
	// empty: uploads go into PostgreSQL).
	S3 S3
	// Registration is "open", "invite" or "closed"; empty means "invite"
	// once the first user exists (the first user may always register and
	// becomes admin).
	Registration string
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string
	// LogFormat is text or json. Default text.
	LogFormat string
	// MaxBodyBytes caps a JSON request body. Default 1 MiB.
	MaxBodyBytes int64
	// MaxFileBytes caps one uploaded file. Default 10 MiB.
	MaxFileBytes int64
	// MaxUploadBytes caps one upload request (all files). Default 50 MiB.
	MaxUploadBytes int64
	// MaxPages caps a PDF's pages; MaxChunks a document's chunks;
	// MaxUnpackedBytes what a DOCX may unpack to.
	MaxPages         int
	MaxChunks        int
	MaxUnpackedBytes int64
	// HybridWeights are the vector and keyword weights of fusion; zero
	// value: auto (0, 1 with the built-in embedder, measured better on
	// SciFact; 1, 1 with a real embedding model).
	HybridWeights [2]float64
	// IngestWorkers parse and embed uploads in the background. Default 2;
	// at least 1 when set by flag or environment (0 starts none: for
	// maintenance commands).
	IngestWorkers int
	// ChunkTokens is the target chunk size in tokens. Default 200.
	ChunkTokens int
	// ChunkOverlap is how many tokens neighbouring chunks share. Default 40.
	ChunkOverlap int
	// RAGMaxChunks is how many passages an answer uses unless asked. Default 5.
	RAGMaxChunks int
	// AccessTokenTTL is the lifetime of a JWT access token. Default 15m.
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is the lifetime of a refresh token. Default 720h.
	RefreshTokenTTL time.Duration
	// RefreshReuseGrace is how long a just-spent refresh token may come
	// back without revoking its family (0: never). Default 10s.
	RefreshReuseGrace time.Duration
	// CookieSecure is auto (Secure when the request came over HTTPS),
	// true or false. Default auto.
	CookieSecure string
	// TrustedProxies are CIDRs whose X-Forwarded-For is believed when
	// finding the client IP (rate limits, logs). Default none.
	TrustedProxies []netip.Prefix
	// LoginMaxFailures is how many failed logins per account are free
	// before each next try must wait twice as long. Default 5.
	LoginMaxFailures int
	// ShutdownTimeout bounds the drain of in-flight requests. Default 30s.
	ShutdownTimeout time.Duration
	// PasswordMemoryKiB, PasswordTime and PasswordThreads are the argon2id
	// cost. Defaults 19456 KiB, 2, 1 (OWASP).
	PasswordMemoryKiB uint32
	PasswordTime      uint32
	PasswordThreads   uint8

	// GatewayRPM caps requests per minute of an API key that sets no
	// limit of its own. Default 600.
	GatewayRPM int

	// Budgets are the default budgets until an admin stores others.
	Budgets budgets.Limits

	// Cache: on unless CacheSize is 0; entries per class; TTLs per class.
	CacheSize int
	CacheTTLs map[cache.Class]time.Duration
	// SemanticThreshold is the cosine similarity at which a single-turn
	// question reuses an earlier answer (0: off).
	SemanticThreshold float64

	// MetricsToken, when set, is the Bearer token /metrics requires; when
	// unset /metrics answers only callers on loopback.
	MetricsToken string

	// CascadeTiers escalate weak answers to the next tier;
	// CascadeMinGroundedness is the bar for document answers.
	CascadeTiers           map[string]bool
	CascadeMinGroundedness float64

	Providers Providers
}

// Providers configure the model providers and the router. A provider
// without credentials is not used.
type Providers struct {
	OpenAIKey           string
	OpenAIBaseURL       string
	AnthropicKey        string
	AnthropicBaseURL    string
	CloudflareAccountID string
	CloudflareToken     string
	CloudflareBaseURL   string
	// OllamaURL is "auto" (use http://localhost:11434 when it answers),
	// "off", or the base URL of an OpenAI-compatible local server.
	OllamaURL    string
	OllamaAPIKey string
	// OllamaTiers are the tiers local models serve. Default small, medium.
	OllamaTiers []string
	// Routes override the candidate order per tier ("provider/model" each).
	Routes map[string][]string
	// EmbedModel is the embedding model of a new index ("provider/model"),
	// or "auto" (by price: Cloudflare bge-m3, then OpenAI
	// text-embedding-3-small, then the built-in embedder).
	EmbedModel string
	// ForceProvider is the rollback switch from the environment.
	ForceProvider string
	// CheapPercent is the share of users on the cheap arm (0-100).
	CheapPercent int
	// ShadowPercent is the share of control-arm calls repeated on the
	// cheap arm in the background, for comparison (0-100). Default 0.
	ShadowPercent int
	// Timeout bounds every provider call. Default 60s.
	Timeout time.Duration
	// ProbeInterval is how often providers are pinged; 0 disables. Default 5m.
	ProbeInterval time.Duration
	// CatalogFile replaces the embedded model catalog.
	CatalogFile string
	// Baseline overrides the OpenAI-only reference of the catalog.
	BaselineChat      map[string]string
	BaselineEmbedding string
}

// Setting describes one configuration value. A setting without Flag is
// read from the environment only (secrets: flags show in process lists).
// Alt names are read when Env is unset (the variables users already have,
// such as OPENAI_API_KEY).
type Setting struct {
	Flag, Env, Default, Help string
	set                      func(*Config, string) error
	Alt                      []string
	Secret                   bool
}

// Settings is the table of every setting, in documentation order.
var Settings = []Setting{
	setting("addr", "PENNY_ADDR", ":8080", "listen address", func(c *Config, v string) error { c.Addr = v; return nil }),
	setting("data-dir", "PENNY_DATA_DIR", "./data", "directory for the store, indexes and uploaded files", func(c *Config, v string) error { c.DataDir = v; return nil }),
	setting("registration", "PENNY_REGISTRATION", "", "open, invite or closed (empty: invite once the first user exists)", func(c *Config, v string) error {
		switch v {
		case "", "open", "invite", "closed":
			c.Registration = v
			return nil
		}
		return fmt.Errorf("must be open, invite or closed")
	}),
	setting("log-level", "PENNY_LOG_LEVEL", "info", "debug, info, warn or error", func(c *Config, v string) error {
		switch v {
		case "debug", "info", "warn", "error":
			c.LogLevel = v
			return nil
		}
		return fmt.Errorf("must be debug, info, warn or error")
	}),
	setting("log-format", "PENNY_LOG_FORMAT", "text", "text or json", func(c *Config, v string) error {
		if v != "text" && v != "json" {
			return fmt.Errorf("must be text or json")
		}
		c.LogFormat = v
		return nil
	}),
	setting("max-body-bytes", "PENNY_MAX_BODY_BYTES", "1048576", "largest JSON request body, bytes", intSetter(func(c *Config, n int64) { c.MaxBodyBytes = n })),
	setting("max-file-bytes", "PENNY_MAX_FILE_BYTES", "10485760", "largest uploaded file, bytes", intSetter(func(c *Config, n int64) { c.MaxFileBytes = n })),
	setting("max-upload-bytes", "PENNY_MAX_UPLOAD_BYTES", "52428800", "largest upload request (all files), bytes", intSetter(func(c *Config, n int64) { c.MaxUploadBytes = n })),
	setting("max-pages", "PENNY_MAX_PAGES", "2000", "most pages of a PDF", intSetter(func(c *Config, n int64) { c.MaxPages = int(n) })),
	setting("max-chunks", "PENNY_MAX_CHUNKS", "20000", "most chunks of one document", intSetter(func(c *Config, n int64) { c.MaxChunks = int(n) })),
	setting("max-unpacked-bytes", "PENNY_MAX_UNPACKED_BYTES", "209715200", "most bytes a DOCX may unpack to (zip bombs)", intSetter(func(c *Config, n int64) { c.MaxUnpackedBytes = n })),
	setting("hybrid-weights", "PENNY_HYBRID_WEIGHTS", "auto", "weights of vector and keyword results in fusion, VECTOR,KEYWORD (auto: 0,1 with the built-in embedder, 1,1 otherwise)", func(c *Config, v string) error {
		c.HybridWeights = [2]float64{}
		if v == "auto" {
			return nil
		}
		a, b, ok := strings.Cut(v, ",")
		vw, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
		kw, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
		if !ok || err1 != nil || err2 != nil || vw < 0 || kw < 0 || vw+kw == 0 {
			return fmt.Errorf("must be auto or two weights such as 1,1")
		}
		c.HybridWeights = [2]float64{vw, kw}
		return nil
	}),
	setting("ingest-workers", "PENNY_INGEST_WORKERS", "2", "documents parsed and embedded at once", intSetter(func(c *Config, n int64) { c.IngestWorkers = int(n) })),
	setting("chunk-tokens", "PENNY_CHUNK_TOKENS", "200", "target chunk size, tokens", intSetter(func(c *Config, n int64) { c.ChunkTokens = int(n) })),
	setting("chunk-overlap", "PENNY_CHUNK_OVERLAP", "40", "tokens shared by neighbouring chunks", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("must be a whole number ≥ 0")
		}
		c.ChunkOverlap = n
		return nil
	}),
	setting("rag-max-chunks", "PENNY_RAG_MAX_CHUNKS", "5", "passages per answer unless the request asks (1-20)", intSetter(func(c *Config, n int64) { c.RAGMaxChunks = int(n) })),
	setting("access-token-ttl", "PENNY_ACCESS_TOKEN_TTL", "15m", "lifetime of an access token", durationSetter(func(c *Config, d time.Duration) { c.AccessTokenTTL = d })),
	setting("refresh-token-ttl", "PENNY_REFRESH_TOKEN_TTL", "720h", "lifetime of a refresh token", durationSetter(func(c *Config, d time.Duration) { c.RefreshTokenTTL = d })),
	setting("refresh-reuse-grace", "PENNY_REFRESH_REUSE_GRACE", "10s", "how long a just-spent refresh token may be presented again (a reload during a refresh) without signing the session out; 0 turns it off", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > time.Minute {
			return fmt.Errorf("must be a duration from 0 to 1m such as 10s")
		}
		c.RefreshReuseGrace = d
		return nil
	}),
	setting("cookie-secure", "PENNY_COOKIE_SECURE", "auto", "auto (Secure over HTTPS), true or false", func(c *Config, v string) error {
		if v != "auto" && v != "true" && v != "false" {
			return fmt.Errorf("must be auto, true or false")
		}
		c.CookieSecure = v
		return nil
	}),
	setting("trusted-proxies", "PENNY_TRUSTED_PROXIES", "", "comma-separated CIDRs whose X-Forwarded-For is trusted", func(c *Config, v string) error {
		c.TrustedProxies = nil
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return fmt.Errorf("bad CIDR %q", s)
			}
			c.TrustedProxies = append(c.TrustedProxies, p)
		}
		return nil
	}),
	setting("login-max-failures", "PENNY_LOGIN_MAX_FAILURES", "5", "failed logins per account before the wait doubles per try", intSetter(func(c *Config, n int64) { c.LoginMaxFailures = int(n) })),
	setting("shutdown-timeout", "PENNY_SHUTDOWN_TIMEOUT", "30s", "how long shutdown waits for requests to finish", durationSetter(func(c *Config, d time.Duration) { c.ShutdownTimeout = d })),
	setting("password-memory-kib", "PENNY_PASSWORD_MEMORY_KIB", "19456", "argon2id memory per password hash, KiB", intSetter(func(c *Config, n int64) { c.PasswordMemoryKiB = uint32(n) })),
	setting("password-time", "PENNY_PASSWORD_TIME", "2", "argon2id passes", intSetter(func(c *Config, n int64) { c.PasswordTime = uint32(n) })),
	setting("password-threads", "PENNY_PASSWORD_THREADS", "1", "argon2id lanes", intSetter(func(c *Config, n int64) { c.PasswordThreads = uint8(min(n, 255)) })),
	{Env: "PENNY_OPENAI_API_KEY", Alt: []string{"OPENAI_API_KEY"}, Secret: true, Help: "OpenAI API key",
		set: func(c *Config, v string) error { c.Providers.OpenAIKey = v; return nil }},
	setting("openai-base-url", "PENNY_OPENAI_BASE_URL", "https://api.openai.com/v1", "OpenAI API base URL (proxies, private endpoints)", urlSetter(func(c *Config, v string) { c.Providers.OpenAIBaseURL = v })),
	{Env: "PENNY_ANTHROPIC_API_KEY", Alt: []string{"ANTHROPIC_API_KEY"}, Secret: true, Help: "Anthropic API key",
		set: func(c *Config, v string) error { c.Providers.AnthropicKey = v; return nil }},
	setting("anthropic-base-url", "PENNY_ANTHROPIC_BASE_URL", "https://api.anthropic.com/", "Anthropic API base URL", urlSetter(func(c *Config, v string) { c.Providers.AnthropicBaseURL = v })),
	{Env: "PENNY_CLOUDFLARE_ACCOUNT_ID", Alt: []string{"CLOUDFLARE_ACCOUNT_ID"}, Help: "Cloudflare account id (Workers AI)",
		set: func(c *Config, v string) error { c.Providers.CloudflareAccountID = v; return nil }},
	{Env: "PENNY_CLOUDFLARE_API_TOKEN", Alt: []string{"CLOUDFLARE_API_TOKEN"}, Secret: true, Help: "Cloudflare API token with Workers AI Read and Edit",
		set: func(c *Config, v string) error { c.Providers.CloudflareToken = v; return nil }},
	setting("cloudflare-base-url", "PENNY_CLOUDFLARE_BASE_URL", "https://api.cloudflare.com/client/v4", "Cloudflare API base URL", urlSetter(func(c *Config, v string) { c.Providers.CloudflareBaseURL = v })),
	setting("ollama-url", "PENNY_OLLAMA_URL", "auto", "auto (use localhost:11434 when it answers), off, or an OpenAI-compatible server's base URL", func(c *Config, v string) error {
		if v != "auto" && v != "off" && !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
			return fmt.Errorf("must be auto, off or an http(s) URL")
		}
		c.Providers.OllamaURL = v
		return nil
	}),
	{Env: "PENNY_OLLAMA_API_KEY", Secret: true, Help: "API key of the local OpenAI-compatible server, if it needs one",
		set: func(c *Config, v string) error { c.Providers.OllamaAPIKey = v; return nil }},
	setting("ollama-tiers", "PENNY_OLLAMA_TIERS", "small,medium", "tiers that local models serve", func(c *Config, v string) error {
		tiers, err := tierList(v)
		c.Providers.OllamaTiers = tiers
		return err
	}),
	setting("route-small", "PENNY_ROUTE_SMALL", "", "candidate order for simple requests (provider/model, comma-separated; default: cheapest first)", routeSetter("small")),
	setting("route-medium", "PENNY_ROUTE_MEDIUM", "", "candidate order for medium requests", routeSetter("medium")),
	setting("route-large", "PENNY_ROUTE_LARGE", "", "candidate order for complex requests", routeSetter("large")),
	setting("embed-model", "PENNY_EMBED_MODEL", "auto", "embedding model of a new index (provider/model), or auto (cheapest configured)", func(c *Config, v string) error {
		if v != "auto" && !strings.Contains(v, "/") {
			return fmt.Errorf("must be auto or provider/model")
		}
		c.Providers.EmbedModel = v
		return nil
	}),
	setting("force-provider", "PENNY_FORCE_PROVIDER", "", "rollback switch: send every chat call to this provider", func(c *Config, v string) error { c.Providers.ForceProvider = v; return nil }),
	setting("cheap-percent", "PENNY_CHEAP_PERCENT", "100", "share of users (0-100) whose auto traffic takes the cheap arm; the rest take the OpenAI control arm",
		percentSetter(func(c *Config, n int) { c.Providers.CheapPercent = n })),
	setting("shadow-percent", "PENNY_SHADOW_PERCENT", "0", "share of control-arm calls (0-100) also sent to the cheap arm in the background, booked as arm shadow and never shown",
		percentSetter(func(c *Config, n int) { c.Providers.ShadowPercent = n })),
	setting("provider-timeout", "PENNY_PROVIDER_TIMEOUT", "60s", "time limit of one provider call", durationSetter(func(c *Config, d time.Duration) { c.Providers.Timeout = d })),
	setting("probe-interval", "PENNY_PROBE_INTERVAL", "5m", "how often providers are pinged (free model listings); 0 disables", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("must be a duration such as 5m, or 0")
		}
		c.Providers.ProbeInterval = d
		return nil
	}),
	setting("gateway-rpm", "PENNY_GATEWAY_RPM", "600", "requests per minute of an API key on /v1 unless the key sets its own", intSetter(func(c *Config, n int64) { c.GatewayRPM = int(n) })),
	setting("budget-global-usd", "PENNY_BUDGET_GLOBAL_USD", "", "monthly budget of all paid calls, USD (empty: none)", usdSetter(func(c *Config, m int64) { c.Budgets.GlobalMonthlyMicros = m })),
	setting("budget-user-usd", "PENNY_BUDGET_USER_USD", "", "monthly budget of each user's paid calls, USD (empty: none)", usdSetter(func(c *Config, m int64) { c.Budgets.UserMonthlyMicros = m })),
	setting("budget-alerts", "PENNY_BUDGET_ALERTS", "80,100", "alert thresholds, percent of a budget", func(c *Config, v string) error {
		c.Budgets.Thresholds = nil
		for _, p := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil || n < 1 || n > 1000 {
				return fmt.Errorf("must be percentages such as 80,100")
			}
			c.Budgets.Thresholds = append(c.Budgets.Thresholds, n)
		}
		return nil
	}),
	setting("budget-webhook-url", "PENNY_BUDGET_WEBHOOK_URL", "", "URL that receives budget alerts as a signed JSON POST", urlSetter(func(c *Config, v string) { c.Budgets.WebhookURL = v })),
	{Env: "PENNY_DATABASE_URL", Secret: true, Help: "PostgreSQL URL (postgres://user:pass@host:5432/db): scale-out mode, records and uploads in PostgreSQL; run `penny migrate up` first",
		set: func(c *Config, v string) error { c.DatabaseURL = v; return nil }},
	{Env: "PENNY_REDIS_URL", Secret: true, Help: "Redis URL (redis://[:password@]host:6379/0): replicas share caches, budget spend and settings changes",
		set: func(c *Config, v string) error { c.RedisURL = v; return nil }},
	setting("s3-endpoint", "PENNY_S3_ENDPOINT", "", "S3-compatible object storage for uploads in scale-out mode (https://s3.example.com, http://minio:9000); empty: uploads go into PostgreSQL", func(c *Config, v string) error { c.S3.Endpoint = v; return nil }),
	setting("s3-bucket", "PENNY_S3_BUCKET", "penny", "the bucket (created if missing)", func(c *Config, v string) error { c.S3.Bucket = v; return nil }),
	setting("s3-region", "PENNY_S3_REGION", "us-east-1", "the bucket's region", func(c *Config, v string) error { c.S3.Region = v; return nil }),
	setting("s3-prefix", "PENNY_S3_PREFIX", "", "put before every object name (several installs in one bucket)", func(c *Config, v string) error { c.S3.Prefix = v; return nil }),
	{Env: "PENNY_S3_ACCESS_KEY", Help: "access key of the bucket", set: func(c *Config, v string) error { c.S3.AccessKey = v; return nil }},
	{Env: "PENNY_S3_SECRET_KEY", Secret: true, Help: "secret key of the bucket", set: func(c *Config, v string) error { c.S3.SecretKey = v; return nil }},
	{Env: "PENNY_BUDGET_WEBHOOK_SECRET", Secret: true, Help: "HMAC-SHA256 key of the X-Penny-Signature header of budget webhooks",
		set: func(c *Config, v string) error { c.Budgets.WebhookSecret = v; return nil }},
	setting("cache-size", "PENNY_CACHE_SIZE", "10000", "entries per cache class (embeddings, generations, answers, queries); 0 disables the caches", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("must be a whole number ≥ 0")
		}
		c.CacheSize = n
		return nil
	}),
	setting("cache-ttl-embeddings", "PENNY_CACHE_TTL_EMBEDDINGS", "168h", "how long a cached embedding lives", ttlSetter(cache.Embeddings)),
	setting("cache-ttl-generations", "PENNY_CACHE_TTL_GENERATIONS", "1h", "how long a cached model answer lives", ttlSetter(cache.Generations)),
	setting("cache-ttl-answers", "PENNY_CACHE_TTL_ANSWERS", "1h", "how long a cached document answer lives", ttlSetter(cache.Answers)),
	setting("cache-ttl-queries", "PENNY_CACHE_TTL_QUERIES", "5m", "how long cached retrieval results live", ttlSetter(cache.Queries)),
	setting("semantic-cache", "PENNY_SEMANTIC_CACHE", "0.95", "cosine similarity at which a single-turn question reuses an earlier answer of the same user whose retrieval found the same passages; 0 disables", func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			return fmt.Errorf("must be between 0 and 1")
		}
		c.SemanticThreshold = f
		return nil
	}),
	setting("cascade-tiers", "PENNY_CASCADE_TIERS", "", "tiers whose answers are checked (empty, refusal, groundedness) and escalated to the next tier when weak, e.g. small,medium", func(c *Config, v string) error {
		c.CascadeTiers = map[string]bool{}
		if v == "" {
			return nil
		}
		tiers, err := tierList(v)
		for _, t := range tiers {
			c.CascadeTiers[t] = true
		}
		return err
	}),
	setting("cascade-min-groundedness", "PENNY_CASCADE_MIN_GROUNDEDNESS", "0.5", "groundedness under which a cascaded document answer escalates", func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			return fmt.Errorf("must be between 0 and 1")
		}
		c.CascadeMinGroundedness = f
		return nil
	}),
	{Env: "PENNY_METRICS_TOKEN", Secret: true, Help: "Bearer token for /metrics (unset: loopback callers only)",
		set: func(c *Config, v string) error { c.MetricsToken = v; return nil }},
	setting("baseline-chat", "PENNY_BASELINE_CHAT", "", "OpenAI-only reference chat model: one id for every tier, or small=ID,medium=ID,large=ID (default: the catalog's)", func(c *Config, v string) error {
		c.Providers.BaselineChat = map[string]string{}
		if v == "" {
			return nil
		}
		if !strings.Contains(v, "=") {
			for _, t := range []string{"small", "medium", "large"} {
				c.Providers.BaselineChat[t] = v
			}
			return nil
		}
		for _, part := range strings.Split(v, ",") {
			tier, id, ok := strings.Cut(strings.TrimSpace(part), "=")
			if _, err := tierList(tier); err != nil || !ok || id == "" {
				return fmt.Errorf("must be a model id or small=ID,medium=ID,large=ID")
			}
			c.Providers.BaselineChat[tier] = id
		}
		return nil
	}),
	setting("baseline-embedding", "PENNY_BASELINE_EMBEDDING", "", "OpenAI-only reference embedding model (default: the catalog's, text-embedding-3-small)", func(c *Config, v string) error {
		c.Providers.BaselineEmbedding = v
		return nil
	}),
	setting("catalog-file", "PENNY_CATALOG_FILE", "", "a models.json that replaces the embedded price catalog", func(c *Config, v string) error { c.Providers.CatalogFile = v; return nil }),
}

// setting is a table row with a flag.
func setting(flag, env, def, help string, set func(*Config, string) error) Setting {
	return Setting{Flag: flag, Env: env, Default: def, Help: help, set: set}
}

func ttlSetter(class cache.Class) func(*Config, string) error {
	return durationSetter(func(c *Config, d time.Duration) {
		if c.CacheTTLs == nil {
			c.CacheTTLs = map[cache.Class]time.Duration{}
		}
		c.CacheTTLs[class] = d
	})
}

func usdSetter(set func(*Config, int64)) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			return fmt.Errorf("must be an amount in USD such as 25 or 0.50")
		}
		set(c, int64(f*1e6+0.5))
		return nil
	}
}

func urlSetter(set func(*Config, string)) func(*Config, string) error {
	return func(c *Config, v string) error {
		if !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
			return fmt.Errorf("must be an http(s) URL")
		}
		set(c, v)
		return nil
	}
}

func tierList(v string) ([]string, error) {
	var out []string
	for _, t := range strings.Split(v, ",") {
		t = strings.TrimSpace(t)
		if t != "small" && t != "medium" && t != "large" {
			return nil, fmt.Errorf("tiers are small, medium and large")
		}
		out = append(out, t)
	}
	return out, nil
}

func routeSetter(tier string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if c.Providers.Routes == nil {
			c.Providers.Routes = map[string][]string{}
		}
		c.Providers.Routes[tier] = nil
		for _, r := range strings.Split(v, ",") {
			if r = strings.TrimSpace(r); r == "" {
				continue
			}
			if !strings.Contains(r, "/") {
				return fmt.Errorf("%q must be provider/model", r)
			}
			c.Providers.Routes[tier] = append(c.Providers.Routes[tier], r)
		}
		return nil
	}
}

func intSetter(set func(*Config, int64)) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("must be a whole number > 0")
		}
		set(c, n)
		return nil
	}
}

func percentSetter(set func(*Config, int)) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100 {
			return fmt.Errorf("must be a whole number from 0 to 100")
		}
		set(c, n)
		return nil
	}
}

func durationSetter(set func(*Config, time.Duration)) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("must be a positive duration such as 15m")
		}
		set(c, d)
		return nil
	}
}

// Default returns the configuration with every default applied.
func Default() Config {
	var c Config
	for _, s := range Settings {
		if err := s.set(&c, s.Default); err != nil && s.Default != "" {
			panic("config: bad default for " + s.Env)
		}
	}
	return c
}

// Load builds the configuration from defaults, then the environment (as
// read by getenv), then the flags in args, and validates it. Unknown flags
// and bad values are errors that name the setting.
func Load(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, error) {
	c := Default()
	for _, s := range Settings {
		v, err := lookupEnv(s.Env, getenv)
		for _, alt := range s.Alt {
			if v == "" && err == nil {
				v, err = lookupEnv(alt, getenv)
			}
		}
		if err != nil {
			return c, err
		}
		if v == "" {
			continue
		}
		if err := s.set(&c, v); err != nil {
			if s.Secret {
				v = "…"
			}
			return c, fmt.Errorf("config: %s=%q: %w", s.Env, v, err)
		}
		if s.Secret {
			c.secrets = append(c.secrets, secretParts(v)...)
		}
	}
	for _, s := range Settings {
		if s.Flag == "" {
			continue
		}
		fs.Func(s.Flag, s.Help+" (env "+s.Env+", default "+quoteDefault(s.Default)+")", func(v string) error {
			return s.set(&c, v)
		})
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	return c, c.validate()
}

// lookupEnv reads NAME, or the contents of the file named by NAME_FILE
// (trailing newline removed); setting both is an error.
func lookupEnv(name string, getenv func(string) string) (string, error) {
	v, file := getenv(name), getenv(name+"_FILE")
	if file == "" {
		return v, nil
	}
	if v != "" {
		return "", fmt.Errorf("config: set %s or %s_FILE, not both", name, name)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("config: %s_FILE: %w", name, err)
	}
	return strings.TrimRight(string(raw), "\r\n"), nil
}

func quoteDefault(d string) string {
	if d == "" {
		return "none"
	}
	return d
}

func (c Config) validate() error {
	var errs []error
	if c.MaxFileBytes > c.MaxUploadBytes {
		errs = append(errs, fmt.Errorf("config: PENNY_MAX_FILE_BYTES (%d) exceeds PENNY_MAX_UPLOAD_BYTES (%d)", c.MaxFileBytes, c.MaxUploadBytes))
	}
	if c.ChunkOverlap >= c.ChunkTokens {
		errs = append(errs, fmt.Errorf("config: PENNY_CHUNK_OVERLAP (%d) must be smaller than PENNY_CHUNK_TOKENS (%d)", c.ChunkOverlap, c.ChunkTokens))
	}
	if c.RAGMaxChunks > 20 {
		errs = append(errs, fmt.Errorf("config: PENNY_RAG_MAX_CHUNKS must be at most 20"))
	}
	if c.DataDir == "" {
		errs = append(errs, fmt.Errorf("config: PENNY_DATA_DIR must not be empty"))
	}
	if c.S3.Endpoint != "" && !c.Scaled() {
		errs = append(errs, fmt.Errorf("config: PENNY_S3_ENDPOINT is for scale-out mode: set PENNY_DATABASE_URL too (the embedded mode keeps uploads in the data dir)"))
	}
	return errors.Join(errs...)
}

// S3 locates an S3-compatible bucket.
type S3 struct {
	Endpoint, Bucket, AccessKey, SecretKey, Region, Prefix string
}

// Secrets are the values of the secret settings (and the passwords inside
// secret URLs): what must never reach a log line or an API answer.
func (c Config) Secrets() []string { return c.secrets }

// secretParts is a secret value and, for a URL, the password in it.
func secretParts(v string) []string {
	out := []string{v}
	if u, err := url.Parse(v); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Scaled reports whether the records live in PostgreSQL.
func (c Config) Scaled() bool { return c.DatabaseURL != "" }

// StorePath is the bbolt file inside the data dir.
func (c Config) StorePath() string { return filepath.Join(c.DataDir, "penny.db") }

// FilesDir holds uploaded originals.
func (c Config) FilesDir() string { return filepath.Join(c.DataDir, "files") }

// KeywordIndexPath is the bleve index directory.
func (c Config) KeywordIndexPath() string { return filepath.Join(c.DataDir, "index", "keyword.bleve") }
