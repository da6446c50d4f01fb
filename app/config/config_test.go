package config_test

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/config"
)

func load(t *testing.T, args []string, env map[string]string) (config.Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return config.Load(fs, args, func(k string) string { return env[k] })
}

func TestDefaults(t *testing.T) {
	c, err := load(t, nil, nil)
	require.NoError(t, err)
	require.Equal(t, ":8080", c.Addr)
	require.Equal(t, "./data", c.DataDir)
	require.Equal(t, "", c.Registration)
	require.Equal(t, 15*time.Minute, c.AccessTokenTTL)
	require.Equal(t, int64(1<<20), c.MaxBodyBytes)
	require.Equal(t, filepath.Join("data", "penny.db"), c.StorePath())
}

func TestPrecedenceFlagsOverEnv(t *testing.T) {
	c, err := load(t, []string{"--addr", ":9000"}, map[string]string{"PENNY_ADDR": ":7000", "PENNY_DATA_DIR": "/tmp/x", "PENNY_REGISTRATION": "closed"})
	require.NoError(t, err)
	require.Equal(t, ":9000", c.Addr)
	require.Equal(t, "/tmp/x", c.DataDir)
	require.Equal(t, "closed", c.Registration)
}

func TestFileSecrets(t *testing.T) {
	f := filepath.Join(t.TempDir(), "reg")
	require.NoError(t, os.WriteFile(f, []byte("open\n"), 0o600))
	c, err := load(t, nil, map[string]string{"PENNY_REGISTRATION_FILE": f})
	require.NoError(t, err)
	require.Equal(t, "open", c.Registration)

	_, err = load(t, nil, map[string]string{"PENNY_REGISTRATION_FILE": f, "PENNY_REGISTRATION": "open"})
	require.ErrorContains(t, err, "not both")
	_, err = load(t, nil, map[string]string{"PENNY_REGISTRATION_FILE": "/nonexistent"})
	require.Error(t, err)
}

func TestBadValuesNameTheSetting(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"PENNY_REGISTRATION": "sometimes"}, nil, "PENNY_REGISTRATION"},
		{map[string]string{"PENNY_MAX_BODY_BYTES": "-1"}, nil, "PENNY_MAX_BODY_BYTES"},
		{map[string]string{"PENNY_ACCESS_TOKEN_TTL": "soon"}, nil, "PENNY_ACCESS_TOKEN_TTL"},
		{map[string]string{"PENNY_TRUSTED_PROXIES": "10.0.0.0/8, nonsense"}, nil, "PENNY_TRUSTED_PROXIES"},
		{map[string]string{"PENNY_CHUNK_OVERLAP": "500"}, nil, "PENNY_CHUNK_OVERLAP"},
		{map[string]string{"PENNY_MAX_FILE_BYTES": "999999999"}, nil, "PENNY_MAX_FILE_BYTES"},
		{nil, []string{"--log-level", "loud"}, "log-level"},
		{nil, []string{"--no-such-flag"}, "no-such-flag"},
	} {
		_, err := load(t, tc.args, tc.env)
		require.ErrorContains(t, err, tc.want)
	}
}

// TestDocumented keeps docs/configuration.md true: every setting's
// variable, flag and default appear there.
func TestDocumented(t *testing.T) {
	raw, err := os.ReadFile("../../docs/configuration.md")
	require.NoError(t, err)
	doc := string(raw)
	for _, s := range config.Settings {
		require.True(t, strings.Contains(doc, "`"+s.Env+"`"), "docs/configuration.md must list %s", s.Env)
		if s.Flag != "" {
			require.True(t, strings.Contains(doc, "`--"+s.Flag+"`"), "docs/configuration.md must list --%s", s.Flag)
		}
		for _, alt := range s.Alt {
			require.True(t, strings.Contains(doc, "`"+alt+"`"), "docs/configuration.md must list %s", alt)
		}
		if s.Default != "" {
			require.True(t, strings.Contains(doc, "`"+s.Default+"`"), "docs/configuration.md must give the default of %s (%s)", s.Env, s.Default)
		}
	}
}

func TestProviderSettings(t *testing.T) {
	c, err := load(t, nil, map[string]string{"OPENAI_API_KEY": "sk-x", "PENNY_ANTHROPIC_API_KEY": "a", "ANTHROPIC_API_KEY": "ignored",
		"CLOUDFLARE_ACCOUNT_ID": "acct", "CLOUDFLARE_API_TOKEN": "cf", "PENNY_ROUTE_SMALL": "cloudflare/@cf/meta/llama-3.2-3b-instruct, openai/gpt-4o-mini"})
	require.NoError(t, err)
	require.Equal(t, "sk-x", c.Providers.OpenAIKey, "the variable users already have")
	require.Equal(t, "a", c.Providers.AnthropicKey, "the PENNY_ form wins")
	require.Equal(t, "acct", c.Providers.CloudflareAccountID)
	require.Equal(t, []string{"cloudflare/@cf/meta/llama-3.2-3b-instruct", "openai/gpt-4o-mini"}, c.Providers.Routes["small"])
	require.Equal(t, "auto", c.Providers.OllamaURL)
	require.Equal(t, 100, c.Providers.CheapPercent)
	require.Equal(t, []string{"small", "medium"}, c.Providers.OllamaTiers)

	for env, val := range map[string]string{"PENNY_CHEAP_PERCENT": "150", "PENNY_SHADOW_PERCENT": "-1", "PENNY_OLLAMA_URL": "localhost", "PENNY_ROUTE_LARGE": "gpt-4o", "PENNY_EMBED_MODEL": "bge", "PENNY_OPENAI_BASE_URL": "ftp://x"} {
		_, err := load(t, nil, map[string]string{env: val})
		require.ErrorContains(t, err, env)
	}
	// Secrets are not echoed in errors, and have no flag.
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	_, err = config.Load(fs, []string{"--openai-api-key", "sk"}, func(string) string { return "" })
	require.Error(t, err)
}
