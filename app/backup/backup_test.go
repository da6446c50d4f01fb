package backup_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/backup"
)

type entry struct{ name, body string }

// archive builds a backup by hand: a manifest naming want, then entries.
func archive(t *testing.T, want []entry, entries []entry) []byte {
	t.Helper()
	sum := func(e entry) backup.File {
		h := sha256.Sum256([]byte(e.body))
		return backup.File{Name: e.name, Size: int64(len(e.body)), SHA256: hex.EncodeToString(h[:])}
	}
	m := backup.Manifest{Format: backup.Format, Store: sum(want[0])}
	for _, e := range want[1:] {
		m.Files = append(m.Files, sum(e))
	}
	raw, err := json.Marshal(m)
	require.NoError(t, err)
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range append([]entry{{"manifest.json", string(raw)}}, entries...) {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o600, Size: int64(len(e.body)), Typeflag: tar.TypeReg}))
		_, err := tw.Write([]byte(e.body))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	return buf.Bytes()
}

// TestRestoreRefusesHostileArchives: names that climb out of the data
// dir, entries the manifest does not list, missing entries and corrupt
// content are refused before anything in the data dir changes.
func TestRestoreRefusesHostileArchives(t *testing.T) {
	store := entry{"penny.db", "store"}
	for name, tc := range map[string]struct {
		want, got []entry
		err       string
	}{
		"path traversal": {[]entry{store, {"files/../../escape", "x"}}, []entry{store, {"files/../../escape", "x"}}, "bad file name"},
		"hidden name":    {[]entry{store, {"files/.x", "x"}}, []entry{store, {"files/.x", "x"}}, "bad file name"},
		"not listed":     {[]entry{store}, []entry{store, {"files/extra", "x"}}, "unexpected entry"},
		"missing":        {[]entry{store, {"files/a", "x"}}, []entry{store}, "incomplete"},
		"corrupt":        {[]entry{store}, []entry{{"penny.db", "STORE"}}, "corrupt"},
	} {
		dir := t.TempDir()
		p := backup.Paths{Store: filepath.Join(dir, "penny.db"), Files: filepath.Join(dir, "files"), Indexes: filepath.Join(dir, "index")}
		require.NoError(t, os.WriteFile(p.Store, []byte("current"), 0o600))
		_, err := backup.Restore(t.Context(), bytes.NewReader(archive(t, tc.want, tc.got)), p, nil)
		require.ErrorContains(t, err, tc.err, name)
		got, err := os.ReadFile(p.Store)
		require.NoError(t, err)
		require.Equal(t, "current", string(got), name)
		_, err = os.Stat(filepath.Join(filepath.Dir(dir), "escape"))
		require.ErrorIs(t, err, os.ErrNotExist, name)
	}
}
