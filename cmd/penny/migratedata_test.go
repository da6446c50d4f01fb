package main

import (
	"context"
	"net/http"
	"os/exec"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/storage/postgres/pgtest"
)

// TestMigrateDataToPostgres moves the demo install (penny seed --demo)
// into PostgreSQL with the real binary: everything arrives (verified by
// checksums), a second run writes nothing, a damaged record is caught, and
// penny then serves the same instance from PostgreSQL: the same accounts,
// chats and answerable documents.
func TestMigrateDataToPostgres(t *testing.T) {
	db := pgtest.PGlite(t)
	bin := buildPenny(t)
	dataDir := t.TempDir()
	run := func(args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "PENNY_DATA_DIR=" + dataDir, "PENNY_DATABASE_URL=" + db,
			"PENNY_OLLAMA_URL=off", "PENNY_PASSWORD_MEMORY_KIB=1024", "PENNY_PASSWORD_TIME=1"}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	seed := exec.Command(bin, "seed", "--demo")
	seed.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "PENNY_DATA_DIR=" + dataDir, "PENNY_OLLAMA_URL=off"}
	seeded, err := seed.CombinedOutput()
	require.NoError(t, err, string(seeded))

	out, err := run("migrate-data", "--from", dataDir)
	require.Error(t, err, "an unmigrated database is refused")
	require.Contains(t, out, "penny migrate up")
	out, err = run("migrate", "up")
	require.NoError(t, err, out)

	out, err = run("migrate-data", "--from", dataDir)
	require.NoError(t, err, out)
	require.Contains(t, out, "verified")
	require.Regexp(t, `users\s+10\s+10\s`, out)
	require.Regexp(t, `documents\s+16\s+16\s`, out)
	require.Regexp(t, `blobs\s+32\s+32\s`, out)

	again, err := run("migrate-data", "--from", dataDir)
	require.NoError(t, err, again)
	require.Regexp(t, `ledger\s+\d+\s+0\s`, again, "a second run finds everything there")

	// A record changed in PostgreSQL behind penny's back is caught.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `UPDATE chats SET data = jsonb_set(data, '{title}', '"tampered"') WHERE id = (SELECT min(id) FROM chats)`)
	require.NoError(t, err)
	out, err = run("migrate-data", "--from", dataDir)
	require.Error(t, err)
	require.Contains(t, out, "verify chats: 0 missing [], 1 different")
	_, err = conn.Exec(ctx, `UPDATE chats SET data = jsonb_set(data, '{title}', '"Leave planning"') WHERE data->>'title' = 'tampered'`)
	require.NoError(t, err)
	require.NoError(t, conn.Close(ctx))

	doctor, err := run("doctor")
	require.NoError(t, err, doctor)
	require.Regexp(t, `ok\s+database\s+PostgreSQL schema \d+, 10 account\(s\)`, doctor)
	require.Contains(t, doctor, "PENNY_REDIS_URL is not set")

	// The same instance, served from PostgreSQL (an empty data dir).
	srv := startPenny(t, bin, t.TempDir(), "PENNY_DATABASE_URL="+db)
	status, login := call(t, srv, "POST", "/api/auth/login", "", map[string]string{"email": "ada@demo.example", "password": "penny-demo-password"})
	require.Equal(t, http.StatusOK, status, login)
	token := login["accessToken"].(string)
	status, chats := call(t, srv, "GET", "/api/chats", token, nil)
	require.Equal(t, http.StatusOK, status)
	require.NotEmpty(t, chats["chats"])
	status, answer := call(t, srv, "POST", "/api/rag/query", token, map[string]any{"question": "How long is parental leave?"})
	require.Equal(t, http.StatusOK, status, answer)
	require.Contains(t, answer["answer"], "16 weeks")
	require.NotEmpty(t, answer["citations"])
}
