package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/apptest"
)

// TestBackupRestoreCommands: `penny backup` while the server holds the
// data dir goes through its admin API; `penny doctor` says the server is
// ready; `penny restore` into another data dir brings back an instance
// that answers; compact and reindex run on the stopped copy.
func TestBackupRestoreCommands(t *testing.T) {
	dir := t.TempDir()
	ta := apptest.Open(t, dir, nil)
	ada := ta.Register("ada@example.com")
	require.Equal(t, http.StatusCreated, ta.Upload(ada.Token, apptest.File{Name: "herons.md",
		Content: "# Herons\n\nGrey herons nest in colonies called heronries, high in tall trees.\n"}).Status)
	key := ta.Do(http.MethodPost, "/api/keys", ada.Token, map[string]string{"name": "backup"}).JSON(t)["key"].(string)

	file := filepath.Join(t.TempDir(), "penny.tar.gz")
	env := map[string]string{"PENNY_DATA_DIR": dir, "PENNY_URL": ta.URL, "PENNY_OLLAMA_URL": "off"}
	code, _, errOut := runCmd(t, "", env, "backup", "--to", file)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "PENNY_API_KEY", "a running server needs an admin's key")
	require.NoFileExists(t, file, "a failed backup leaves no file")
	env["PENNY_API_KEY"] = key
	code, out, errOut := runCmd(t, "", env, "backup", "--to", file)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "fetching the backup from")
	require.Contains(t, out, "backup written to "+file)

	env["PENNY_ADDR"] = strings.TrimPrefix(ta.URL, "http://")
	code, out, _ = runCmd(t, "", env, "doctor")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "penny serve holds the data dir and is ready")

	restored := t.TempDir()
	renv := map[string]string{"PENNY_DATA_DIR": restored, "PENNY_OLLAMA_URL": "off", "PENNY_PROBE_INTERVAL": "0"}
	code, _, errOut = runCmd(t, "", renv, "restore")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "usage: penny restore --from FILE")
	code, out, errOut = runCmd(t, "", renv, "restore", "--from", file)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "rebuilt at the next start")

	code, out, errOut = runCmd(t, "", renv, "compact")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "compacted")
	code, out, errOut = runCmd(t, "", renv, "reindex")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "1 chunk(s)")
	code, out, _ = runCmd(t, "", renv, "doctor")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "all checks passed")

	again := apptest.Open(t, restored, nil)
	r := again.Do(http.MethodPost, "/api/rag/query", ada.Token, map[string]any{"question": "Where do grey herons nest?"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	require.Contains(t, r.JSON(t)["answer"], "heronries")
}

// TestSeedCommand: --demo fills an empty data dir once, offline even when
// a provider is configured (this one answers nothing: using it would fail
// the seed), --reset removes it, and the two flags are exclusive.
func TestSeedCommand(t *testing.T) {
	env := map[string]string{"PENNY_DATA_DIR": t.TempDir(), "PENNY_OLLAMA_URL": "off", "PENNY_PASSWORD_MEMORY_KIB": "64", "PENNY_PASSWORD_TIME": "1",
		"OPENAI_API_KEY": "sk-never-used", "PENNY_OPENAI_BASE_URL": "http://127.0.0.1:1/v1"}
	code, _, errOut := runCmd(t, "", env, "seed")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "usage: penny seed --demo | --reset")
	code, out, errOut := runCmd(t, "", env, "seed", "--demo")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "10 accounts")
	require.Contains(t, out, "ada@demo.example")
	code, out, _ = runCmd(t, "", env, "seed", "--demo")
	require.Equal(t, 0, code)
	require.Contains(t, out, "already")
	code, out, errOut = runCmd(t, "", env, "seed", "--reset")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "removed the demo instance")
	require.NoFileExists(t, filepath.Join(env["PENNY_DATA_DIR"], "penny.db"))
}
