// Package apptest runs a real penny — store, indexes, router, HTTP API —
// on a temporary data dir behind an httptest server, with small helpers
// for table-driven API tests.
package apptest

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app"
	"github.com/penny-dev/penny/app/config"
	"github.com/penny-dev/penny/app/httpapi"
)

// TestApp is a running penny.
type TestApp struct {
	*app.App
	Server *httptest.Server
	URL    string
	t      *testing.T
}

// New starts penny on a temp data dir. env sets PENNY_* settings; the
// password hash cost is lowered for speed unless env sets it.
func New(t *testing.T, env map[string]string) *TestApp {
	t.Helper()
	dir := t.TempDir()
	return Open(t, dir, env)
}

// Open starts penny on dir (to test restarts).
func Open(t *testing.T, dir string, env map[string]string) *TestApp {
	t.Helper()
	vars := map[string]string{"PENNY_DATA_DIR": dir, "PENNY_PASSWORD_MEMORY_KIB": "64", "PENNY_PASSWORD_TIME": "1", "PENNY_LOG_LEVEL": "error",
		"PENNY_OLLAMA_URL": "off", "PENNY_PROBE_INTERVAL": "0"}
	for k, v := range env {
		vars[k] = v
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg, err := config.Load(fs, nil, func(k string) string { return vars[k] })
	require.NoError(t, err)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = app.NewLogger(cfg, &testWriter{t})
	}
	a, err := app.New(t.Context(), cfg, logger, "test")
	require.NoError(t, err)
	srv := httptest.NewServer(httpapi.New(a))
	ta := &TestApp{App: a, Server: srv, URL: srv.URL, t: t}
	t.Cleanup(ta.Stop)
	return ta
}

// Stop closes the server and the App (safe to call twice).
func (ta *TestApp) Stop() {
	if ta.Server == nil {
		return
	}
	ta.Server.Close()
	ta.Server = nil
	require.NoError(ta.t, ta.App.Close())
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Response is a finished request.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map.
func (r Response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), string(r.Body))
	return m
}

// Decode decodes the body into v.
func (r Response) Decode(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Body, v), string(r.Body))
}

// ErrorCode is the error.code of an error response.
func (r Response) ErrorCode(t *testing.T) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	require.NoError(t, json.Unmarshal(r.Body, &e), string(r.Body))
	require.NotEmpty(t, e.Error.Message, "every error has a message")
	return e.Error.Code
}

// Do sends a request. body may be nil, a string (sent as is with a JSON
// content type) or any value (encoded as JSON). headers are pairs.
func (ta *TestApp) Do(method, path, token string, body any, headers ...string) Response {
	ta.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(ta.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ta.t.Context(), method, ta.URL+path, rd)
	require.NoError(ta.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return ta.send(req)
}

func (ta *TestApp) send(req *http.Request) Response {
	ta.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(ta.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(ta.t, err)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// File is one file of an upload.
type File struct{ Name, Content string }

// Upload posts files as multipart field "file" and waits until they are
// ready or failed (?wait=true).
func (ta *TestApp) Upload(token string, files ...File) Response {
	ta.t.Helper()
	return ta.UploadTo(token, "", files...)
}

// UploadTo posts files into a collection ("" for the default one) and
// waits until they are ready or failed.
func (ta *TestApp) UploadTo(token, collection string, files ...File) Response {
	ta.t.Helper()
	body, ctype := Multipart(ta.t, collection, files...)
	req, err := http.NewRequestWithContext(ta.t.Context(), http.MethodPost, ta.URL+"/api/documents?wait=true", bytes.NewReader(body))
	require.NoError(ta.t, err)
	req.Header.Set("Content-Type", ctype)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return ta.send(req)
}

// Multipart encodes files (and a collection) as an upload body.
func Multipart(t *testing.T, collection string, files ...File) ([]byte, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if collection != "" {
		require.NoError(t, mw.WriteField("collection", collection))
	}
	for _, f := range files {
		w, err := mw.CreateFormFile("file", f.Name)
		require.NoError(t, err)
		_, _ = w.Write([]byte(f.Content))
	}
	require.NoError(t, mw.Close())
	return buf.Bytes(), mw.FormDataContentType()
}

// User is a signed-in account.
type User struct {
	ID, Email, Token, Refresh string
}

// Register creates an account (open registration or the first user) and
// returns it signed in.
func (ta *TestApp) Register(email string) User {
	ta.t.Helper()
	r := ta.Do(http.MethodPost, "/api/auth/register", "", map[string]string{"email": email, "password": "correct horse battery"})
	require.Equal(ta.t, http.StatusCreated, r.Status, string(r.Body))
	var s struct {
		User         struct{ ID, Email string }
		AccessToken  string
		RefreshToken string
	}
	r.Decode(ta.t, &s)
	return User{ID: s.User.ID, Email: s.User.Email, Token: s.AccessToken, Refresh: s.RefreshToken}
}
