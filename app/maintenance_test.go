package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app"
	"github.com/penny-dev/penny/app/apptest"
	"github.com/penny-dev/penny/app/config"
	"github.com/penny-dev/penny/vector"
	"github.com/penny-dev/penny/vector/keyword"
)

var testEnv = map[string]string{"PENNY_REGISTRATION": "open"}

// configFor is the configuration apptest uses, for the commands that run
// on a stopped data dir.
func configFor(t *testing.T, dir string) config.Config {
	t.Helper()
	vars := map[string]string{"PENNY_DATA_DIR": dir, "PENNY_OLLAMA_URL": "off", "PENNY_PROBE_INTERVAL": "0", "PENNY_LOG_LEVEL": "error"}
	cfg, err := config.Load(flag.NewFlagSet("test", flag.ContinueOnError), nil, func(k string) string { return vars[k] })
	require.NoError(t, err)
	return cfg
}

func fileSum(t *testing.T, path string) [32]byte {
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	return sha256.Sum256(raw)
}

// TestBackupWhileServingThenRestore: an admin downloads a backup from the
// running server; restored into another data dir, it answers the same
// question (indexes rebuilt from the store), and its originals are there.
// Members and anonymous callers get none; a damaged archive changes
// nothing; a data dir with accounts is replaced only with force.
func TestBackupWhileServingThenRestore(t *testing.T) {
	ta := apptest.New(t, testEnv)
	admin := ta.Register("ada@example.com")
	member := ta.Register("bob@example.com")
	require.Equal(t, http.StatusCreated, ta.Upload(admin.Token, apptest.File{Name: "herons.md", Content: doc}).Status)

	require.Equal(t, http.StatusForbidden, ta.Do(http.MethodGet, "/api/admin/backup", member.Token, nil).Status)
	require.Equal(t, http.StatusUnauthorized, ta.Do(http.MethodGet, "/api/admin/backup", "", nil).Status)
	r := ta.Do(http.MethodGet, "/api/admin/backup", admin.Token, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	require.Equal(t, "application/gzip", r.Header.Get("Content-Type"))
	archive := r.Body

	dir := filepath.Join(t.TempDir(), "restored")
	cfg := configFor(t, dir)
	m, err := app.Restore(t.Context(), cfg, bytes.NewReader(archive), false)
	require.NoError(t, err)
	require.Len(t, m.Files, 2, "the uploaded original and its text are in the backup")
	_, err = os.Stat(filepath.Join(cfg.FilesDir(), filepath.Base(m.Files[0].Name)))
	require.NoError(t, err)

	restored := apptest.Open(t, dir, testEnv)
	require.Contains(t, ask(t, restored, admin.Token), "heronries", "the old session's token still signs in: the keys are in the store")
	require.Equal(t, 1, restored.Indexes.Vectors.Len())
	restored.Stop()

	// Damaged: nothing changes.
	before := fileSum(t, cfg.StorePath())
	bad := bytes.Clone(archive)
	bad[len(bad)/2] ^= 0xff
	_, err = app.Restore(t.Context(), cfg, bytes.NewReader(bad), true)
	require.Error(t, err)
	require.Equal(t, before, fileSum(t, cfg.StorePath()), "a failed restore leaves the store as it was")
	_, err = app.Restore(t.Context(), cfg, strings.NewReader("not a backup"), true)
	require.ErrorContains(t, err, "not a penny backup")

	// A data dir with accounts needs --force; what was there is kept.
	_, err = app.Restore(t.Context(), cfg, bytes.NewReader(archive), false)
	require.ErrorContains(t, err, "--force")
	_, err = app.Restore(t.Context(), cfg, bytes.NewReader(archive), true)
	require.NoError(t, err)
	_, err = os.Stat(cfg.StorePath() + ".before-restore")
	require.NoError(t, err)
}

// TestBackupIdleCompactReindexDoctor runs the stopped-server commands on
// one data dir: a backup, compaction, an index rebuild, and the doctor,
// which finds a keyword index that disagrees with the store.
func TestBackupIdleCompactReindexDoctor(t *testing.T) {
	dir := t.TempDir()
	ta := apptest.Open(t, dir, testEnv)
	u := ta.Register("ada@example.com")
	for _, name := range []string{"a.md", "b.md", "c.md"} {
		require.Equal(t, http.StatusCreated, ta.Upload(u.Token, apptest.File{Name: name, Content: doc + "\n" + name + " is one of three notes.\n"}).Status)
	}
	chunks, err := ta.Store.CountChunks(t.Context())
	require.NoError(t, err)

	cfg := configFor(t, dir)
	_, err = app.BackupIdle(t.Context(), cfg, "test", &bytes.Buffer{})
	require.ErrorIs(t, err, app.ErrServing, "the running server holds the store")
	_, _, err = app.Compact(cfg)
	require.ErrorIs(t, err, app.ErrServing)
	ta.Stop()

	var buf bytes.Buffer
	m, err := app.BackupIdle(t.Context(), cfg, "test", &buf)
	require.NoError(t, err)
	require.Len(t, m.Files, 6, "three originals and their texts")

	before, after, err := app.Compact(cfg)
	require.NoError(t, err)
	require.LessOrEqual(t, after, before)

	n, err := app.Reindex(t.Context(), cfg, ta.Logger)
	require.NoError(t, err)
	require.Equal(t, chunks, n)

	var out strings.Builder
	require.NoError(t, app.Doctor(context.Background(), cfg, &out), out.String())
	require.Contains(t, out.String(), "keyword index agrees with the store")
	require.Contains(t, out.String(), "vector snapshot agrees with the store")

	// A keyword index that holds a chunk the store does not: the doctor
	// fails and names the fix.
	kw, err := keyword.Open(cfg.KeywordIndexPath())
	require.NoError(t, err)
	require.NoError(t, kw.Upsert(t.Context(), []vector.Text{{ID: "stray", DocumentID: "gone", Text: "stray"}}))
	require.NoError(t, kw.Close())
	out.Reset()
	require.Error(t, app.Doctor(context.Background(), cfg, &out))
	require.Contains(t, out.String(), "FAIL  index")
	require.Contains(t, out.String(), "penny reindex")

	// A data dir that does not exist yet is not a failure: serve makes it.
	out.Reset()
	require.NoError(t, app.Doctor(context.Background(), configFor(t, filepath.Join(t.TempDir(), "new")), &out), out.String())
	require.Contains(t, out.String(), "does not exist yet")

	// The next start repairs it, and the data still answers.
	again := apptest.Open(t, dir, testEnv)
	require.Contains(t, ask(t, again, u.Token), "heronries")
}

// A start that fails leaves nothing open and does not crash: the store
// opened first is closed again (the embedded store stays usable).
func TestFailedStartClosesWhatItOpened(t *testing.T) {
	dir := t.TempDir()
	cfg := configFor(t, dir)
	cfg.Providers.ForceProvider = "no-such-provider"
	_, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler), "test")
	require.Error(t, err)
	st, err := app.OpenIdleStore(configFor(t, dir))
	require.NoError(t, err, "the store was closed again")
	require.NoError(t, st.Close())

	scaled := configFor(t, t.TempDir())
	scaled.DatabaseURL = "postgres://penny@127.0.0.1:1/penny?sslmode=disable&connect_timeout=2"
	_, err = app.New(context.Background(), scaled, slog.New(slog.DiscardHandler), "test")
	require.ErrorContains(t, err, "cannot reach the database")
	_, err = app.OpenIdleStore(scaled)
	require.ErrorIs(t, err, app.ErrScaled, "embedded-store commands say how to do it in PostgreSQL")
}
