package backup_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
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

// memStore is a store whose snapshot is fixed bytes (or an error).
type memStore struct {
	data string
	err  error
}

func (m memStore) Snapshot(_ context.Context, w io.Writer) (int64, error) {
	if m.err != nil {
		return 0, m.err
	}
	n, err := io.WriteString(w, m.data)
	return int64(n), err
}

func (m memStore) SchemaVersion(context.Context) (int, error) { return 7, nil }

func dataDir(t *testing.T, store string, files map[string]string) backup.Paths {
	t.Helper()
	dir := t.TempDir()
	p := backup.Paths{Store: filepath.Join(dir, "penny.db"), Files: filepath.Join(dir, "files"), Indexes: filepath.Join(dir, "index")}
	require.NoError(t, os.MkdirAll(p.Files, 0o700))
	require.NoError(t, os.MkdirAll(p.Indexes, 0o700))
	require.NoError(t, os.WriteFile(p.Store, []byte(store), 0o600))
	for name, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(p.Files, name), []byte(body), 0o600))
	}
	return p
}

// A backup restores to the same store and originals; what was there is
// kept beside, and the indexes are left to be rebuilt.
func TestBackupRoundTrip(t *testing.T) {
	src := dataDir(t, "", map[string]string{"01DOC.md": "# Herons", "01PDF.pdf": "%PDF-1.4"})
	var buf bytes.Buffer
	m, err := backup.Write(t.Context(), memStore{data: "the store"}, src, t.TempDir(), "v-test", &buf)
	require.NoError(t, err)
	require.Equal(t, 7, m.SchemaVersion)
	require.Len(t, m.Files, 2)

	dst := dataDir(t, "older store", map[string]string{"old.md": "old"})
	checked := ""
	got, err := backup.Restore(t.Context(), bytes.NewReader(buf.Bytes()), dst, func(path string) error {
		raw, err := os.ReadFile(path)
		checked = string(raw)
		return err
	})
	require.NoError(t, err)
	require.Equal(t, m.Store, got.Store)
	require.Equal(t, "the store", checked, "the store is checked before it is placed")
	for path, want := range map[string]string{
		dst.Store:                                            "the store",
		filepath.Join(dst.Files, "01DOC.md"):                 "# Herons",
		filepath.Join(dst.Files, "01PDF.pdf"):                "%PDF-1.4",
		dst.Store + ".before-restore":                        "older store",
		filepath.Join(dst.Files+".before-restore", "old.md"): "old",
	} {
		raw, err := os.ReadFile(path)
		require.NoError(t, err, path)
		require.Equal(t, want, string(raw), path)
	}
	_, err = os.Stat(dst.Indexes)
	require.ErrorIs(t, err, os.ErrNotExist)
}

// A backup that cannot be made or checked says so and changes nothing.
func TestBackupFailuresChangeNothing(t *testing.T) {
	src := dataDir(t, "", map[string]string{"01DOC.md": "# Herons"})
	_, err := backup.Write(t.Context(), memStore{err: errors.New("store closed")}, src, t.TempDir(), "v", io.Discard)
	require.ErrorContains(t, err, "store closed")
	_, err = backup.Write(t.Context(), memStore{data: "s"}, src, t.TempDir(), "v", failingWriter{})
	require.ErrorContains(t, err, "disk full")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = backup.Write(ctx, memStore{data: "s"}, src, t.TempDir(), "v", io.Discard)
	require.ErrorIs(t, err, context.Canceled)

	var buf bytes.Buffer
	_, err = backup.Write(t.Context(), memStore{data: "s"}, src, t.TempDir(), "v", &buf)
	require.NoError(t, err)
	dst := dataDir(t, "current", nil)
	_, err = backup.Restore(t.Context(), bytes.NewReader(buf.Bytes()), dst, func(string) error { return errors.New("not a penny store") })
	require.ErrorContains(t, err, "not a penny store")
	raw, err := os.ReadFile(dst.Store)
	require.NoError(t, err)
	require.Equal(t, "current", string(raw))
	_, err = backup.Restore(t.Context(), bytes.NewReader(buf.Bytes()[:buf.Len()/2]), dst, nil)
	require.Error(t, err, "a truncated archive")
	_, err = backup.Restore(t.Context(), strings.NewReader("not gzip"), dst, nil)
	require.Error(t, err)
	raw, err = os.ReadFile(dst.Store)
	require.NoError(t, err)
	require.Equal(t, "current", string(raw))
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
