package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/penny-dev/penny/app/config"
	"github.com/penny-dev/penny/providers"
	"github.com/penny-dev/penny/providers/anthropic"
	"github.com/penny-dev/penny/providers/catalog"
	"github.com/penny-dev/penny/providers/cloudflare"
	"github.com/penny-dev/penny/providers/local"
	"github.com/penny-dev/penny/providers/openai"
	"github.com/penny-dev/penny/providers/router"
)

// providerSet is every configured provider, ready for the router.
type providerSet struct {
	catalog   *catalog.Catalog
	tiers     map[string][]router.ChatCandidate
	control   map[string][]router.ChatCandidate
	embedders map[string][]router.EmbedHost
	pingers   map[string]router.Pinger
	free      *catalog.FreeAllocation
}

// ollamaDefault is where an Ollama server listens by default.
const ollamaDefault = "http://localhost:11434"

// buildProviders creates a client per configured provider and the
// candidate lists: per tier, the configured models of that tier cheapest
// first (local servers' free models first in their tiers), deprecated
// models left out, the built-in provider last; or the order the
// configuration gives.
func buildProviders(ctx context.Context, cfg config.Providers, logger *slog.Logger, now time.Time) (*providerSet, error) {
	cat := catalog.Default()
	if cfg.CatalogFile != "" {
		raw, err := os.ReadFile(cfg.CatalogFile)
		if err != nil {
			return nil, fmt.Errorf("app: catalog file: %w", err)
		}
		if cat, err = catalog.Parse(raw); err != nil {
			return nil, err
		}
	}
	if len(cfg.BaselineChat) > 0 || cfg.BaselineEmbedding != "" {
		var err error
		if cat, err = cat.WithBaseline(catalog.Baseline{Chat: cfg.BaselineChat, Embedding: cfg.BaselineEmbedding}); err != nil {
			return nil, err
		}
	}
	ps := &providerSet{free: catalog.NewFreeAllocation(cat.FreeNeuronsPerDay), pingers: map[string]router.Pinger{},
		embedders: map[string][]router.EmbedHost{}, tiers: map[string][]router.ChatCandidate{}, control: map[string][]router.ChatCandidate{}}
	hc := &http.Client{Timeout: cfg.Timeout, Transport: providerTransport()}
	offline := local.New()
	chat := map[string]providers.ChatModel{local.Name: offline}
	embed := map[string]providers.Embedder{local.Name: offline}

	if cfg.OpenAIKey != "" {
		c := openai.New(openai.Options{Name: "openai", BaseURL: cfg.OpenAIBaseURL, APIKey: cfg.OpenAIKey, HTTPClient: hc})
		chat["openai"], embed["openai"], ps.pingers["openai"] = c, c, c
	}
	if cfg.AnthropicKey != "" {
		c := anthropic.New(anthropic.Options{APIKey: cfg.AnthropicKey, BaseURL: cfg.AnthropicBaseURL, HTTPClient: hc})
		chat[anthropic.Name], ps.pingers[anthropic.Name] = c, c
	}
	if cfg.CloudflareAccountID != "" && cfg.CloudflareToken != "" {
		c := cloudflare.New(cloudflare.Options{BaseURL: cfg.CloudflareBaseURL, AccountID: cfg.CloudflareAccountID, Token: cfg.CloudflareToken,
			HTTPClient: hc, OnDailyLimit: func() { ps.free.Exhaust(time.Now()) }})
		chat[cloudflare.Name], embed[cloudflare.Name], ps.pingers[cloudflare.Name] = c, c, c
	} else if cfg.CloudflareAccountID != "" || cfg.CloudflareToken != "" {
		logger.Warn("Cloudflare needs both CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN; not using it")
	}
	if len(chat) > 1 {
		offline = local.NewFallback()
		chat[local.Name], embed[local.Name] = offline, offline
	}
	var localModels []string
	if c, models := detectLocalServer(ctx, cfg, hc, logger); c != nil {
		chat["ollama"], ps.pingers["ollama"] = c, c
		offline = local.NewFallback()
		chat[local.Name], embed[local.Name] = offline, offline
		for _, id := range models {
			cat = cat.With(catalog.Model{Provider: "ollama", ID: id, Kind: "chat", Tier: cfg.OllamaTiers[0], ContextWindow: 8192, Free: true,
				PriceDate: now.Format(time.DateOnly), Note: "found on the local server at start"})
			localModels = append(localModels, id)
		}
	}
	ps.catalog = cat

	today := now.UTC().Format(time.DateOnly)
	usable := func(m catalog.Model) bool {
		return chat[m.Provider] != nil && (m.Deprecated == "" || m.Deprecated > today)
	}
	for _, tier := range catalog.Tiers {
		if routes := cfg.Routes[tier]; len(routes) > 0 {
			for _, r := range routes {
				provider, id, _ := strings.Cut(r, "/")
				m, err := cat.Lookup(provider, id)
				if err != nil {
					return nil, fmt.Errorf("app: PENNY_ROUTE_%s: %w", strings.ToUpper(tier), err)
				}
				if chat[provider] == nil {
					return nil, fmt.Errorf("app: PENNY_ROUTE_%s names %s, but %s is not configured", strings.ToUpper(tier), r, provider)
				}
				ps.tiers[tier] = append(ps.tiers[tier], router.ChatCandidate{Provider: m.Provider, Model: m.ID, Client: chat[provider]})
			}
		} else {
			var ms []catalog.Model
			for _, m := range cat.Models() {
				inTier := m.Tier == tier
				if m.Provider == "ollama" {
					inTier = contains(cfg.OllamaTiers, tier)
				}
				if m.Kind == "chat" && inTier && usable(m) && m.Provider != local.Name {
					ms = append(ms, m)
				}
			}
			sort.Slice(ms, func(i, j int) bool { return cheaper(ms[i], ms[j]) })
			for _, m := range ms {
				ps.tiers[tier] = append(ps.tiers[tier], router.ChatCandidate{Provider: m.Provider, Model: m.ID, Client: chat[m.Provider]})
			}
		}
		// The built-in provider is always the last resort.
		ps.tiers[tier] = append(ps.tiers[tier], router.ChatCandidate{Provider: local.Name, Model: local.ChatModel, Client: offline})
		if chat["openai"] != nil {
			ps.control[tier] = []router.ChatCandidate{{Provider: "openai", Model: cat.Baseline.Chat[tier], Client: chat["openai"]}}
		}
	}
	for _, m := range cat.Models() {
		if m.Kind == "embedding" && embed[m.Provider] != nil {
			ps.embedders[m.ID] = append(ps.embedders[m.ID], router.EmbedHost{Provider: m.Provider, Client: embed[m.Provider]})
		}
	}
	var names []string
	for name := range chat {
		names = append(names, name)
	}
	sort.Strings(names)
	logger.Info("providers active", slog.String("providers", strings.Join(names, ",")), slog.Int("localModels", len(localModels)))
	for _, tier := range catalog.Tiers {
		var order []string
		for _, c := range ps.tiers[tier] {
			order = append(order, c.Provider+"/"+c.Model)
		}
		logger.Info("route", slog.String("tier", tier), slog.String("candidates", strings.Join(order, " → ")))
	}
	return ps, nil
}

// cheaper orders models by price: free first, then by input + output price.
func cheaper(a, b catalog.Model) bool {
	if a.Free != b.Free {
		return a.Free
	}
	pa, pb := a.InputMicrosPerM+a.OutputMicrosPerM, b.InputMicrosPerM+b.OutputMicrosPerM
	if pa != pb {
		return pa < pb
	}
	return a.Provider+a.ID < b.Provider+b.ID
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// detectLocalServer finds an OpenAI-compatible local server (Ollama,
// vLLM, LM Studio, llama.cpp) and its chat models. With "auto" it asks
// localhost:11434 briefly and stays quiet when nothing answers.
func detectLocalServer(ctx context.Context, cfg config.Providers, hc *http.Client, logger *slog.Logger) (*openai.Client, []string) {
	if cfg.OllamaURL == "off" {
		return nil, nil
	}
	base := cfg.OllamaURL
	if base == "auto" {
		base = ollamaDefault
	}
	base = strings.TrimRight(base, "/")
	if !strings.HasSuffix(base, "/v1") {
		base += "/v1"
	}
	c := openai.New(openai.Options{Name: "ollama", BaseURL: base, APIKey: cfg.OllamaAPIKey, HTTPClient: hc})
	dctx, cancel := context.WithTimeout(ctx, 700*time.Millisecond)
	defer cancel()
	ids, err := c.Models(dctx)
	if err != nil {
		if cfg.OllamaURL != "auto" {
			logger.Warn("local model server did not answer; not using it", slog.String("url", base), slog.Any("error", err))
		}
		return nil, nil
	}
	var chatModels []string
	for _, id := range ids {
		if !strings.Contains(strings.ToLower(id), "embed") {
			chatModels = append(chatModels, id)
		}
	}
	if len(chatModels) == 0 {
		logger.Warn("local model server has no chat model", slog.String("url", base))
		return nil, nil
	}
	sort.Strings(chatModels)
	logger.Info("local model server found", slog.String("url", base), slog.String("models", strings.Join(chatModels, ",")))
	return c, chatModels
}

// chatModels are the configured chat models (not the built-in one).
func (ps *providerSet) chatModels() []catalog.Model {
	seen := map[string]bool{}
	var out []catalog.Model
	for _, tier := range catalog.Tiers {
		for _, c := range ps.tiers[tier] {
			if k := c.Provider + "/" + c.Model; !seen[k] && c.Provider != local.Name {
				seen[k] = true
				m, _ := ps.catalog.Lookup(c.Provider, c.Model)
				out = append(out, m)
			}
		}
	}
	return out
}

// embedModels are the embedding models with a configured host.
func (ps *providerSet) embedModels() []catalog.Model {
	var out []catalog.Model
	for id, hosts := range ps.embedders {
		m, _ := ps.catalog.Lookup(hosts[0].Provider, id)
		out = append(out, m)
	}
	return out
}

// providerTransport is the HTTP transport of every provider client. It
// keeps up to 256 idle connections per provider: Go's default keeps 2, so
// under concurrent calls most calls opened a new connection (a TLS
// handshake to a cloud provider) and left a socket in TIME_WAIT.
func providerTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 1024, 256
	return t
}
