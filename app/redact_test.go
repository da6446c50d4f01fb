package app

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/config"
)

func TestLogsRedactEverySecretSetting(t *testing.T) {
	vars := map[string]string{"OPENAI_API_KEY": "sk-openai-abcdef123", "PENNY_DATABASE_URL": "postgres://penny:db-password-77@db:5432/penny",
		"PENNY_REDIS_URL": "redis://:redis-pass-88@cache:6379/0", "PENNY_S3_SECRET_KEY": "s3-secret-99", "PENNY_DATA_DIR": t.TempDir(),
		"PENNY_METRICS_TOKEN": "x"}
	cfg, err := config.Load(flag.NewFlagSet("t", flag.ContinueOnError), nil, func(k string) string { return vars[k] })
	require.NoError(t, err)
	var out bytes.Buffer
	log := NewLogger(cfg, &out)
	log.Warn("call failed: sk-openai-abcdef123", slog.Any("error", errors.New("auth: key sk-openai-abcdef123 refused")),
		slog.String("url", "postgres://penny:db-password-77@db:5432/penny"), slog.String("note", "redis-pass-88 and s3-secret-99"),
		slog.Any("list", []string{"sk-openai-abcdef123"}), slog.String("short", "x marks the spot"))
	line := out.String()
	for _, secret := range []string{"sk-openai-abcdef123", "db-password-77", "redis-pass-88", "s3-secret-99"} {
		require.NotContains(t, line, secret)
	}
	require.Contains(t, line, "[redacted]")
	require.Contains(t, line, "x marks the spot", "values shorter than 6 bytes are not redacted (they would blank out words)")
}
