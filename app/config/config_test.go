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
		require.Contains(t, doc, "`"+s.Env+"`", "docs/configuration.md must list %s", s.Env)
		require.Contains(t, doc, "`--"+s.Flag+"`", "docs/configuration.md must list --%s", s.Flag)
		if s.Default != "" {
			require.True(t, strings.Contains(doc, "`"+s.Default+"`"), "docs/configuration.md must give the default of %s (%s)", s.Env, s.Default)
		}
	}
}
