package main

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/apptest"
	"github.com/penny-dev/penny/app/documents/pdftest"
)

func TestIngestCommand(t *testing.T) {
	ta := apptest.New(t, nil)
	ada := ta.Register("ada@example.com")
	r := ta.Do(http.MethodPost, "/api/keys", ada.Token, map[string]string{"name": "cli"})
	key := r.JSON(t)["key"].(string)

	dir := t.TempDir()
	write := func(name string, data []byte) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o600))
	}
	write("birds/herons.md", []byte("# Herons\n\nGrey herons nest in heronries, high in tall trees."))
	write("birds/guide.pdf", pdftest.Make("Robins sing at dawn in gardens and woods."))
	write("notes.txt", []byte("Quarterly revenue grew by twelve percent."))
	write("empty.txt", []byte("   "))
	write("photo.jpg", []byte("not a document"))
	write(".git/config.txt", []byte("hidden folders are skipped"))

	env := map[string]string{"PENNY_URL": ta.URL, "PENNY_API_KEY": key}
	code, out, errOut := runCmd(t, "", env, "ingest", "--collection", "field", dir)
	require.Equal(t, 1, code, "the empty file is refused")
	require.Contains(t, out, "4 files: 3 ready (0 already there), 1 not ready")
	require.Contains(t, out, "1 files skipped")
	require.Contains(t, out, "empty.txt: refused")
	require.Contains(t, errOut, "1 of 4 files are not ready")

	var list struct {
		Documents []struct{ Title, Collection, Status string }
	}
	ta.Do(http.MethodGet, "/api/documents?collection=field", ada.Token, nil).Decode(t, &list)
	require.Len(t, list.Documents, 3)

	// Again: everything is already there.
	require.NoError(t, os.Remove(filepath.Join(dir, "empty.txt")))
	code, out, _ = runCmd(t, "", env, "ingest", "--collection", "field", dir)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "3 files: 3 ready (3 already there)")

	code, _, errOut = runCmd(t, "", map[string]string{"PENNY_URL": ta.URL}, "ingest", dir)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "PENNY_API_KEY")
}
