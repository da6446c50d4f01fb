package httpapi_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/apptest"
	"github.com/penny-dev/penny/providers/providertest"
	"github.com/penny-dev/penny/storage"
)

func waitReady(t *testing.T, ta *apptest.TestApp, token, id string) storage.Document {
	var d storage.Document
	require.Eventually(t, func() bool {
		r := ta.Do(http.MethodGet, "/api/documents/"+id, token, nil)
		r.Decode(t, &d)
		return d.Status == storage.DocumentReady || d.Status == storage.DocumentFailed
	}, 20*time.Second, 20*time.Millisecond)
	return d
}

// TestUploadIsQueuedThenReady: 202 with status queued once the file and
// the job are on disk; the worker makes it ready; the same content again
// is a duplicate, not a second document.
func TestUploadIsQueuedThenReady(t *testing.T) {
	ta := apptest.New(t, nil)
	ada := ta.Register("ada@example.com")
	body, ctype := apptest.Multipart(t, "", apptest.File{Name: "herons.md", Content: herons})
	r := ta.Do(http.MethodPost, "/api/documents", ada.Token, body, "Content-Type", ctype)
	require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
	var out struct{ Documents []storage.Document }
	r.Decode(t, &out)
	require.Equal(t, storage.DocumentQueued, out.Documents[0].Status)
	id := out.Documents[0].ID
	require.FileExists(t, filepath.Join(ta.Config.FilesDir(), id+".orig"), "durable before the answer")

	d := waitReady(t, ta, ada.Token, id)
	require.Equal(t, storage.DocumentReady, d.Status)
	require.Positive(t, d.Chunks)

	again := ta.Upload(ada.Token, apptest.File{Name: "copy.md", Content: herons})
	require.Equal(t, http.StatusCreated, again.Status)
	again.Decode(t, &out)
	require.Equal(t, id, out.Documents[0].ID, "same content: the stored document")
	require.True(t, out.Documents[0].Duplicate)
	var list struct{ Documents []storage.Document }
	ta.Do(http.MethodGet, "/api/documents", ada.Token, nil).Decode(t, &list)
	require.Len(t, list.Documents, 1)
}

// TestIngestResumesAfterACrash: a document queued (file and job on disk)
// when penny died is processed at the next start, once.
func TestIngestResumesAfterACrash(t *testing.T) {
	dir := t.TempDir()
	ta := apptest.Open(t, dir, nil)
	ada := ta.Register("ada@example.com")
	// The state a crash right after the upload's answer leaves behind:
	// the original and the job on disk, the job leased by the dead
	// process (so this process's workers leave it alone).
	id := storage.NewID()
	now := time.Now().UTC()
	require.NoError(t, os.MkdirAll(ta.Config.FilesDir(), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(ta.Config.FilesDir(), id+".orig"), []byte(herons), 0o600))
	require.NoError(t, ta.Store.EnqueueDocuments(context.Background(), []storage.Document{{ID: id, OwnerID: ada.ID, Collection: "default",
		Title: "Herons", Filename: "herons.md", ContentType: "text/markdown", Status: storage.DocumentParsing, CreatedAt: now}},
		[]storage.IngestJob{{DocumentID: id, OwnerID: ada.ID, NextAt: now, LeaseUntil: now.Add(time.Hour), CreatedAt: now}}))
	ta.Stop()

	ta = apptest.Open(t, dir, nil)
	login := ta.Do(http.MethodPost, "/api/auth/login", "", map[string]string{"email": "ada@example.com", "password": "correct horse battery"})
	token := login.JSON(t)["accessToken"].(string)
	d := waitReady(t, ta, token, id)
	require.Equal(t, storage.DocumentReady, d.Status, "the stale lease was released at start")
	n, err := ta.Store.CountChunks(context.Background())
	require.NoError(t, err)
	require.Equal(t, d.Chunks, n, "no duplicated chunks")
}

// TestFailedEmbeddingIsRetriedWithBackoff: the embedding provider fails
// twice; the document still becomes ready.
func TestFailedEmbeddingIsRetriedWithBackoff(t *testing.T) {
	cf := providertest.NewCloudflare("acct", "tok")
	defer cf.Close()
	ta := apptest.New(t, map[string]string{"CLOUDFLARE_ACCOUNT_ID": "acct", "CLOUDFLARE_API_TOKEN": "tok", "PENNY_CLOUDFLARE_BASE_URL": cf.BaseURL()})
	ada := ta.Register("ada@example.com")
	cf.SetScript(providertest.FirstN(2, providertest.Fault{Status: 503}))
	body, ctype := apptest.Multipart(t, "", apptest.File{Name: "herons.md", Content: herons})
	r := ta.Do(http.MethodPost, "/api/documents", ada.Token, body, "Content-Type", ctype)
	require.Equal(t, http.StatusAccepted, r.Status)
	var out struct{ Documents []storage.Document }
	r.Decode(t, &out)
	d := waitReady(t, ta, ada.Token, out.Documents[0].ID)
	require.Equal(t, storage.DocumentReady, d.Status, d.Error)
	require.Equal(t, 3, cf.Requests(), "two failures, then success")
}
