package app_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/apptest"
	"github.com/penny-dev/penny/storage"
)

const doc = "# Herons\n\nGrey herons nest in colonies called heronries, high in tall trees.\n"

func ask(t *testing.T, ta *apptest.TestApp, token string) string {
	r := ta.Do(http.MethodPost, "/api/rag/query", token, map[string]any{"question": "Where do grey herons nest?"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	return r.JSON(t)["answer"].(string)
}

// TestIndexesRecoverFromTheStore: a missing, stale or broken keyword index
// is rebuilt from the store at start, and the vector index is refilled.
func TestIndexesRecoverFromTheStore(t *testing.T) {
	dir := t.TempDir()
	ta := apptest.Open(t, dir, nil)
	ada := ta.Register("ada@example.com")
	require.Equal(t, http.StatusCreated, ta.Upload(ada.Token, apptest.File{Name: "h.md", Content: doc}).Status)
	path := ta.Config.KeywordIndexPath()
	ta.Stop()

	for name, damage := range map[string]func(){
		"missing": func() { require.NoError(t, os.RemoveAll(path)) },
		"broken":  func() { require.NoError(t, os.WriteFile(path+"/index_meta.json", []byte("{garbage"), 0o600)) },
		"stale": func() {
			// Crash between the store commit and the index write: the
			// store holds a chunk the index does not.
			st := apptest.Open(t, dir, nil)
			var ids []string
			require.NoError(t, st.Store.EachChunk(context.Background(), func(c storage.Chunk) error { ids = append(ids, c.ID); return nil }))
			require.NoError(t, st.Indexes.Keywords.Delete(context.Background(), ids))
			st.Stop()
		},
	} {
		t.Run(name, func(t *testing.T) {
			damage()
			ta := apptest.Open(t, dir, nil)
			defer ta.Stop()
			n, err := ta.Indexes.Keywords.Len()
			require.NoError(t, err)
			require.Equal(t, 1, n)
			require.Equal(t, 1, ta.Indexes.Vectors.Len())
			login := ta.Do(http.MethodPost, "/api/auth/login", "", map[string]string{"email": "ada@example.com", "password": "correct horse battery"})
			require.Equal(t, http.StatusOK, login.Status)
			require.Contains(t, ask(t, ta, login.JSON(t)["accessToken"].(string)), "heronries")
		})
	}
}

// TestVectorSnapshot: the HNSW graph is saved on stop and loaded on start
// when it matches the store; a broken or stale one is rebuilt.
func TestVectorSnapshot(t *testing.T) {
	dir := t.TempDir()
	ta := apptest.Open(t, dir, nil)
	ada := ta.Register("ada@example.com")
	require.Equal(t, http.StatusCreated, ta.Upload(ada.Token, apptest.File{Name: "h.md", Content: doc}).Status)
	snapshot := filepath.Join(dir, "index", "vectors.hnsw")
	ta.Stop()
	require.FileExists(t, snapshot)

	check := func() {
		ta := apptest.Open(t, dir, nil)
		defer ta.Stop()
		require.Equal(t, 1, ta.Indexes.Vectors.Len())
		login := ta.Do(http.MethodPost, "/api/auth/login", "", map[string]string{"email": "ada@example.com", "password": "correct horse battery"})
		require.Contains(t, ask(t, ta, login.JSON(t)["accessToken"].(string)), "heronries")
	}
	check() // from the snapshot

	require.NoError(t, os.WriteFile(snapshot, []byte("garbage"), 0o600))
	check() // rebuilt from the store

	// Stale: a crash after a write to the store but before the snapshot.
	ta = apptest.Open(t, dir, nil)
	raw, err := os.ReadFile(snapshot)
	require.NoError(t, err)
	login := ta.Do(http.MethodPost, "/api/auth/login", "", map[string]string{"email": "ada@example.com", "password": "correct horse battery"})
	tok := login.JSON(t)["accessToken"].(string)
	require.Equal(t, http.StatusCreated, ta.Upload(tok, apptest.File{Name: "more.md", Content: "# Robins\n\nRobins sing at dawn."}).Status)
	ta.Stop()
	require.NoError(t, os.WriteFile(snapshot, raw, 0o600)) // the older snapshot
	ta = apptest.Open(t, dir, nil)
	defer ta.Stop()
	require.Equal(t, 2, ta.Indexes.Vectors.Len(), "the stale snapshot was not used")
}
