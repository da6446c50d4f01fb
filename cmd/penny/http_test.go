package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// send makes one request to a server: a JSON body (or, for uploads, a
// multipart one) and the decoded JSON answer. A transport error or an
// answer that is not JSON is an error.
func send(s *server, method, path, token, ctype string, body []byte) (int, map[string]any, error) {
	req, err := http.NewRequest(method, "http://"+s.addr+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", ctype)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			return resp.StatusCode, nil, err
		}
	}
	return resp.StatusCode, out, nil
}

func jsonBody(t testing.TB, body any) []byte {
	if body == nil {
		return nil
	}
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	return raw
}

// call sends a JSON request and decodes the JSON answer.
func call(t *testing.T, s *server, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	status, out, err := send(s, method, path, token, "application/json", jsonBody(t, body))
	require.NoError(t, err)
	return status, out
}

// callQuiet is call for goroutines racing a kill: a transport error or a
// body cut by the kill is status 0 (not acknowledged), not a test failure.
func callQuiet(s *server, method, path, token string, body any) (int, map[string]any) {
	raw, _ := json.Marshal(body)
	status, out, err := send(s, method, path, token, "application/json", raw)
	if err != nil {
		return 0, nil
	}
	return status, out
}

// multipartFile is an upload body of one Markdown file (boundary "b").
func multipartFile(name, content string) []byte {
	return []byte("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + name + "\"\r\nContent-Type: text/markdown\r\n\r\n" + content + "\r\n--b--\r\n")
}

const multipartType = "multipart/form-data; boundary=b"

// upload uploads one file and waits until it is ready.
func upload(t *testing.T, s *server, token, name, content string) {
	t.Helper()
	status, out, err := send(s, http.MethodPost, "/api/documents?wait=true", token, multipartType, multipartFile(name, content))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, status, out)
	require.Equal(t, "ready", out["documents"].([]any)[0].(map[string]any)["status"])
}

// uploadNoWait uploads one file without waiting for ingestion; ok means
// penny acknowledged it (202).
func uploadNoWait(s *server, token, name, content string) (string, bool) {
	status, out, err := send(s, http.MethodPost, "/api/documents", token, multipartType, multipartFile(name, content))
	if err != nil || status != http.StatusAccepted {
		return "", false // not acknowledged: the client saw no 202
	}
	docs, _ := out["documents"].([]any)
	if len(docs) != 1 {
		return "", false
	}
	return docs[0].(map[string]any)["id"].(string), true
}

// allReady waits until every acknowledged upload (id → its unique word)
// is ready; a lost or failed one fails the test.
func allReady(t *testing.T, s *server, token string, docs map[string]string) {
	t.Helper()
	for id, word := range docs {
		require.Eventually(t, func() bool {
			status, d := call(t, s, "GET", "/api/documents/"+id, token, nil)
			require.Equal(t, http.StatusOK, status, "acknowledged upload %s (%s) is lost", id, word)
			require.NotEqual(t, "failed", d["status"], "%s failed: %v", word, d["error"])
			return d["status"] == "ready"
		}, 60*time.Second, 50*time.Millisecond, "the unfinished job of %s resumed", word)
	}
}

// foundByOwnWord asks about each document's unique word and expects the
// document among the citations: the indexes hold it.
func foundByOwnWord(t *testing.T, s *server, token string, docs map[string]string) {
	t.Helper()
	for id, word := range docs {
		status, out := call(t, s, "POST", "/api/rag/query", token, map[string]any{"question": "What does the " + word + " do?"})
		require.Equal(t, http.StatusOK, status, out)
		cited := false
		for _, c := range out["citations"].([]any) {
			cited = cited || c.(map[string]any)["documentId"] == id
		}
		require.True(t, cited, "%s is found by its own word: the indexes hold it (answer: %v)", word, out)
	}
}

// doctorPasses runs penny doctor on a stopped server's data dir.
func doctorPasses(t *testing.T, bin, dataDir, after string) {
	t.Helper()
	doctor := exec.Command(bin, "doctor", "--data-dir", dataDir)
	doctor.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "PENNY_OLLAMA_URL=off"}
	out, err := doctor.CombinedOutput()
	require.NoError(t, err, "penny doctor after %s:\n%s", after, out)
	require.Contains(t, string(out), "all checks passed")
}
