package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/apptest"
	"github.com/penny-dev/penny/app/documents/pdftest"
	"github.com/penny-dev/penny/providers/local"
	"github.com/penny-dev/penny/storage"
)

const herons = `# Herons

The grey heron is a long-legged wading bird. It hunts fish, frogs and small mammals in shallow water.

## Nesting

Grey herons nest in colonies called heronries, usually high in tall trees near lakes and rivers.
A pair lays three to five pale blue eggs in early spring.

## Migration

Most grey herons in western Europe do not migrate; birds from the far north move south in winter.
`

const finance = "Quarterly report.\n\nRevenue grew by twelve percent in the third quarter. Operating costs stayed flat.\n"

type ragAnswer struct {
	Answer    string
	Citations []storage.Citation
	Sources   []struct {
		storage.Citation
		Text string
	}
	Cost struct {
		Micros, BaselineMicros int64
	}
	Provider, Model, Retrieval string
	Cached                     string
	Reasons                    []string
}

var citeRE = regexp.MustCompile(`\[(\d+)\]`)

func upload(t *testing.T, ta *apptest.TestApp, token string, files ...apptest.File) []storage.Document {
	t.Helper()
	r := ta.Upload(token, files...)
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	var out struct{ Documents []storage.Document }
	r.Decode(t, &out)
	return out.Documents
}

func TestQuestionAnsweredWithCitationAndCost(t *testing.T) {
	ta := apptest.New(t, nil)
	ada := ta.Register("ada@example.com")
	docs := upload(t, ta, ada.Token, apptest.File{Name: "herons.md", Content: herons}, apptest.File{Name: "q3.txt", Content: finance})
	require.Len(t, docs, 2)
	require.Equal(t, "Herons", docs[0].Title, "a Markdown title is its first heading")
	require.Equal(t, "q3", docs[1].Title)
	require.Equal(t, storage.DocumentReady, docs[0].Status)

	r := ta.Do(http.MethodPost, "/api/rag/query", ada.Token, map[string]any{"question": "Where do grey herons nest?"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var a ragAnswer
	r.Decode(t, &a)
	require.Contains(t, a.Answer, "heronries")
	require.Equal(t, "local", a.Provider)
	require.Equal(t, local.ChatModel, a.Model)
	require.Equal(t, "hybrid", a.Retrieval)
	require.Zero(t, a.Cost.Micros)
	require.Positive(t, a.Cost.BaselineMicros, "what OpenAI would have charged")

	// Every [n] maps to a returned citation, and the citation points at the
	// chunk that holds the sentence: fetch the span and check it.
	marks := citeRE.FindAllStringSubmatch(a.Answer, -1)
	require.NotEmpty(t, marks)
	byN := map[string]storage.Citation{}
	for _, c := range a.Citations {
		byN[jsonInt(c.N)] = c
	}
	for _, m := range marks {
		c, ok := byN[m[1]]
		require.True(t, ok, "[%s] has a citation", m[1])
		require.Equal(t, docs[0].ID, c.DocumentID)
		chunk := ta.Do(http.MethodGet, "/api/documents/"+c.DocumentID+"/chunks/"+c.ChunkID, ada.Token, nil)
		require.Equal(t, http.StatusOK, chunk.Status)
		var ch storage.Chunk
		chunk.Decode(t, &ch)
		require.Contains(t, ch.Text, "heronries")
		require.Equal(t, herons[c.Start:c.End], ch.Text, "offsets point into the document text")
		require.Nil(t, ch.Vector, "vectors are not part of the API")
	}

	// Ask only the finance document: the herons never appear.
	r = ta.Do(http.MethodPost, "/api/rag/query", ada.Token, map[string]any{"question": "How did revenue change?", "documentIds": []string{docs[1].ID}, "options": map[string]any{"maxChunks": 2, "provider": "local"}})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	r.Decode(t, &a)
	require.Contains(t, a.Answer, "twelve percent")
	for _, s := range a.Sources {
		require.Equal(t, docs[1].ID, s.DocumentID)
	}

	// The calls are on the ledger: ingest (embedding) and rag (embedding + answer).
	r = ta.Do(http.MethodGet, "/api/costs/summary", ada.Token, nil)
	require.Equal(t, http.StatusOK, r.Status)
	var sum struct {
		Total      struct{ Calls int }
		ByProvider []struct {
			Key   string
			Calls int
		}
		ByService []struct {
			Key            string
			Calls          int
			BaselineMicros int64
		}
	}
	r.Decode(t, &sum)
	require.Equal(t, 6, sum.Total.Calls)
	require.Equal(t, "local", sum.ByProvider[0].Key)
	services := map[string]int{}
	for _, s := range sum.ByService {
		services[s.Key] = s.Calls
	}
	require.Equal(t, map[string]int{"ingest": 2, "rag": 4}, services, "one embedding call per document")
}

func jsonInt(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestNoDocumentsNoModelCall(t *testing.T) {
	ta := apptest.New(t, nil)
	ada := ta.Register("ada@example.com")
	r := ta.Do(http.MethodPost, "/api/rag/query", ada.Token, map[string]any{"question": "anything?"})
	require.Equal(t, http.StatusOK, r.Status)
	var a ragAnswer
	r.Decode(t, &a)
	require.Equal(t, local.NothingFoundAnswer, a.Answer)
	require.Empty(t, a.Citations)
	require.NotNil(t, a.Citations)
}

// TestBadInput: every malformed request gets a 4xx JSON error and leaves
// nothing behind (no document, no chunk, no ledger entry).
func TestBadInput(t *testing.T) {
	ta := apptest.New(t, map[string]string{"PENNY_MAX_BODY_BYTES": "2048", "PENNY_MAX_FILE_BYTES": "4096", "PENNY_MAX_UPLOAD_BYTES": "16384"})
	ada := ta.Register("ada@example.com")
	docs := upload(t, ta, ada.Token, apptest.File{Name: "herons.md", Content: herons})
	chat := ta.Do(http.MethodPost, "/api/chats", ada.Token, map[string]any{"title": "t"})
	require.Equal(t, http.StatusCreated, chat.Status)
	chatID := chat.JSON(t)["id"].(string)

	ledgerBefore := ledgerCount(t, ta)
	chunksBefore, err := ta.Store.CountChunks(context.Background())
	require.NoError(t, err)

	big := strings.Repeat("x", 3000)
	cases := []struct {
		name, method, path string
		body               any
		files              []apptest.File
		status             int
		code               string
	}{
		{"malformed json", "POST", "/api/rag/query", `{"question":`, nil, 400, "invalid_request"},
		{"not an object", "POST", "/api/rag/query", `["q"]`, nil, 400, "invalid_request"},
		{"wrong type", "POST", "/api/rag/query", `{"question": 42}`, nil, 400, "invalid_request"},
		{"wrong nested type", "POST", "/api/rag/query", `{"question": "q", "options": {"maxChunks": "five"}}`, nil, 400, "invalid_request"},
		{"two objects", "POST", "/api/rag/query", `{"question":"a"}{"question":"b"}`, nil, 400, "invalid_request"},
		{"empty body", "POST", "/api/rag/query", ``, nil, 400, "invalid_request"},
		{"missing question", "POST", "/api/rag/query", `{}`, nil, 400, "invalid_request"},
		{"blank question", "POST", "/api/rag/query", `{"question": "   "}`, nil, 400, "invalid_request"},
		{"maxChunks out of range", "POST", "/api/rag/query", `{"question": "q", "options": {"maxChunks": 99}}`, nil, 400, "invalid_request"},
		{"unknown document", "POST", "/api/rag/query", `{"question": "q", "documentIds": ["nope"]}`, nil, 404, "not_found"},
		{"unknown provider", "POST", "/api/rag/query", `{"question": "herons", "options": {"provider": "openai"}}`, nil, 400, "unknown_provider"},
		{"oversized body", "POST", "/api/rag/query", `{"question": "` + big + `"}`, nil, 413, "payload_too_large"},
		{"unsupported file type", "POST", "/api/documents", nil, []apptest.File{{Name: "x.exe", Content: "MZ"}}, 415, "unsupported_file_type"},
		{"a PDF named .txt", "POST", "/api/documents", nil, []apptest.File{{Name: "x.txt", Content: "%PDF-1.4 binary"}}, 415, "unsupported_file_type"},
		{"path traversal name", "POST", "/api/documents", nil, []apptest.File{{Name: "../../etc/passwd.exe", Content: "x"}}, 415, "unsupported_file_type"},
		{"binary disguised as text", "POST", "/api/documents", nil, []apptest.File{{Name: "x.txt", Content: "a\x00b"}}, 415, "unsupported_file_type"},
		{"invalid utf-8", "POST", "/api/documents", nil, []apptest.File{{Name: "x.txt", Content: "\xff\xfe"}}, 415, "unsupported_file_type"},
		{"empty file", "POST", "/api/documents", nil, []apptest.File{{Name: "x.md", Content: " \n\n "}}, 400, "empty_file"},
		{"oversized file", "POST", "/api/documents", nil, []apptest.File{{Name: "x.txt", Content: strings.Repeat("word ", 1000)}}, 413, "file_too_large"},
		{"oversized upload", "POST", "/api/documents", nil, []apptest.File{{Name: "a.txt", Content: strings.Repeat("a ", 2000)}, {Name: "b.txt", Content: strings.Repeat("b ", 2000)}, {Name: "c.txt", Content: strings.Repeat("c ", 2000)}, {Name: "d.txt", Content: strings.Repeat("d ", 2000)}, {Name: "e.txt", Content: strings.Repeat("e ", 2000)}}, 413, "payload_too_large"},
		{"one bad file spoils the batch", "POST", "/api/documents", nil, []apptest.File{{Name: "good.txt", Content: "fine text here"}, {Name: "bad.png", Content: "PNG"}}, 415, "unsupported_file_type"},
		{"no file", "POST", "/api/documents", nil, []apptest.File{}, 400, "invalid_request"},
		{"not multipart", "POST", "/api/documents", `{"file":"x"}`, nil, 415, "unsupported_media_type"},
		{"unknown document get", "GET", "/api/documents/nope", nil, nil, 404, "not_found"},
		{"unknown document delete", "DELETE", "/api/documents/nope", nil, nil, 404, "not_found"},
		{"unknown chunk", "GET", "/api/documents/" + docs[0].ID + "/chunks/nope", nil, nil, 404, "not_found"},
		{"unknown chat", "GET", "/api/chats/nope/messages", nil, nil, 404, "not_found"},
		{"message to unknown chat", "POST", "/api/chats/nope/messages", `{"content": "hi"}`, nil, 404, "not_found"},
		{"empty message", "POST", "/api/chats/" + chatID + "/messages", `{"content": ""}`, nil, 400, "invalid_request"},
		{"key without name", "POST", "/api/keys", `{}`, nil, 400, "invalid_request"},
		{"bad date", "GET", "/api/costs/summary?from=yesterday", nil, nil, 400, "invalid_request"},
		{"reversed range", "GET", "/api/costs/summary?from=2026-11-02&to=2026-11-01", nil, nil, 400, "invalid_request"},
		{"unknown api route", "GET", "/api/nothing-here", nil, nil, 404, "not_found"},
		{"wrong method", "PUT", "/api/rag/query", nil, nil, 405, "method_not_allowed"},
		{"register bad email", "POST", "/api/auth/register", `{"email":"nope","password":"correct horse"}`, nil, 400, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r apptest.Response
			if tc.files != nil {
				r = ta.Upload(ada.Token, tc.files...)
			} else {
				r = ta.Do(tc.method, tc.path, ada.Token, tc.body)
			}
			require.Equal(t, tc.status, r.Status, string(r.Body))
			require.Equal(t, tc.code, r.ErrorCode(t))
			require.Equal(t, "application/json", strings.Split(r.Header.Get("Content-Type"), ";")[0])
		})
	}

	list := ta.Do(http.MethodGet, "/api/documents", ada.Token, nil)
	var out struct{ Documents []storage.Document }
	list.Decode(t, &out)
	require.Len(t, out.Documents, 1, "nothing half-written")
	chunksAfter, err := ta.Store.CountChunks(context.Background())
	require.NoError(t, err)
	require.Equal(t, chunksBefore, chunksAfter)
	require.Equal(t, ledgerBefore, ledgerCount(t, ta), "refused requests call no model")
}

func ledgerCount(t *testing.T, ta *apptest.TestApp) int {
	n := 0
	require.NoError(t, ta.Store.EachLedger(context.Background(), storage.LedgerFilter{}, func(storage.LedgerEntry) error { n++; return nil }))
	return n
}

// TestIsolation: user B gets 404 for every one of user A's resources, and
// none of A's data reaches B through search, answers or costs.
func TestIsolation(t *testing.T) {
	ta := apptest.New(t, map[string]string{"PENNY_REGISTRATION": "open"})
	_ = ta.Register("admin@example.com") // the first user is admin; A and B are members
	a := ta.Register("a@example.com")
	b := ta.Register("b@example.com")

	doc := upload(t, ta, a.Token, apptest.File{Name: "herons.md", Content: herons})[0]
	chat := ta.Do(http.MethodPost, "/api/chats", a.Token, map[string]any{"title": "secret"}).JSON(t)
	chatID := chat["id"].(string)
	require.Equal(t, http.StatusCreated, ta.Do(http.MethodPost, "/api/chats/"+chatID+"/messages", a.Token, map[string]any{"content": "Where do herons nest?"}).Status)
	key := ta.Do(http.MethodPost, "/api/keys", a.Token, map[string]any{"name": "a's key"}).JSON(t)
	keyID := key["id"].(string)
	var ans ragAnswer
	ta.Do(http.MethodPost, "/api/rag/query", a.Token, map[string]any{"question": "Where do herons nest?"}).Decode(t, &ans)
	require.NotEmpty(t, ans.Citations)
	chunkID := ans.Citations[0].ChunkID

	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/api/documents/" + doc.ID, ""},
		{"DELETE", "/api/documents/" + doc.ID, ""},
		{"GET", "/api/documents/" + doc.ID + "/chunks/" + chunkID, ""},
		{"GET", "/api/chats/" + chatID + "/messages", ""},
		{"POST", "/api/chats/" + chatID + "/messages", `{"content":"let me in"}`},
		{"DELETE", "/api/keys/" + keyID, ""},
		{"POST", "/api/rag/query", `{"question":"herons","documentIds":["` + doc.ID + `"]}`},
		{"GET", "/api/costs/summary?userId=" + a.ID, ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			r := ta.Do(tc.method, tc.path, b.Token, body)
			require.Equal(t, http.StatusNotFound, r.Status, string(r.Body))
			require.Equal(t, "not_found", r.ErrorCode(t))
			require.NotContains(t, string(r.Body), "heron")
		})
	}

	// Lists are B's own (empty).
	for _, path := range []string{"/api/documents", "/api/chats", "/api/keys"} {
		r := ta.Do(http.MethodGet, path, b.Token, nil)
		require.Equal(t, http.StatusOK, r.Status)
		require.NotContains(t, string(r.Body), a.ID, path)
		require.NotContains(t, string(r.Body), "heron", path)
	}
	// B's own question never sees A's passages.
	var bAns ragAnswer
	ta.Do(http.MethodPost, "/api/rag/query", b.Token, map[string]any{"question": "Where do grey herons nest?"}).Decode(t, &bAns)
	require.Empty(t, bAns.Sources)
	require.NotContains(t, bAns.Answer, "heronries")
	// B's chat answer neither.
	bChat := ta.Do(http.MethodPost, "/api/chats", b.Token, nil).JSON(t)["id"].(string)
	r := ta.Do(http.MethodPost, "/api/chats/"+bChat+"/messages", b.Token, map[string]any{"content": "Where do grey herons nest?"})
	require.NotContains(t, string(r.Body), "heronries")
	// B's costs are B's only; A's document survived B's delete attempt.
	var sum struct{ Total struct{ Calls int } }
	ta.Do(http.MethodGet, "/api/costs/summary", b.Token, nil).Decode(t, &sum)
	aSum := struct{ Total struct{ Calls int } }{}
	ta.Do(http.MethodGet, "/api/costs/summary", a.Token, nil).Decode(t, &aSum)
	require.Equal(t, 1, sum.Total.Calls, "B's only call: the answer to B's chat message")
	require.Equal(t, 4, aSum.Total.Calls, "A's: ingest, chat (embed + answer), and the same question again: an answer-cache hit")
	require.Equal(t, http.StatusOK, ta.Do(http.MethodGet, "/api/documents/"+doc.ID, a.Token, nil).Status)

	// Members cannot use admin routes.
	for _, tc := range []struct{ method, path string }{{"GET", "/api/admin/users"}, {"POST", "/api/admin/users"}, {"POST", "/api/admin/invites"}} {
		r := ta.Do(tc.method, tc.path, b.Token, nil)
		require.Equal(t, http.StatusForbidden, r.Status, tc.path)
	}
	// Anonymous callers get 401 everywhere that needs a caller.
	for _, path := range []string{"/api/documents", "/api/chats", "/api/keys", "/api/costs/summary", "/api/auth/me", "/api/documents/" + doc.ID} {
		r := ta.Do(http.MethodGet, path, "", nil)
		require.Equal(t, http.StatusUnauthorized, r.Status, path)
		require.Equal(t, "unauthorized", r.ErrorCode(t))
	}
}

func TestAdminSeesAllCosts(t *testing.T) {
	ta := apptest.New(t, map[string]string{"PENNY_REGISTRATION": "open"})
	admin := ta.Register("admin@example.com")
	m := ta.Register("m@example.com")
	upload(t, ta, m.Token, apptest.File{Name: "q3.txt", Content: finance})
	var sum struct {
		Scope string
		Total struct{ Calls int }
	}
	ta.Do(http.MethodGet, "/api/costs/summary", admin.Token, nil).Decode(t, &sum)
	require.Equal(t, "all", sum.Scope)
	require.Equal(t, 1, sum.Total.Calls)
	ta.Do(http.MethodGet, "/api/costs/summary?userId="+admin.ID, admin.Token, nil).Decode(t, &sum)
	require.Equal(t, 0, sum.Total.Calls)
	require.Equal(t, "user", sum.Scope)

	// Admins manage users and invites.
	r := ta.Do(http.MethodPost, "/api/admin/users", admin.Token, map[string]any{"email": "new@example.com", "password": "correct horse", "role": "member"})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	require.NotContains(t, string(r.Body), "argon2", "hashes never leave the server")
	r = ta.Do(http.MethodGet, "/api/admin/users", admin.Token, nil)
	require.Equal(t, http.StatusOK, r.Status)
	require.Contains(t, string(r.Body), "new@example.com")
	require.NotContains(t, string(r.Body), "argon2")
}

func TestChatJSONAndStream(t *testing.T) {
	ta := apptest.New(t, nil)
	ada := ta.Register("ada@example.com")
	chatID := ta.Do(http.MethodPost, "/api/chats", ada.Token, map[string]any{"title": "birds"}).JSON(t)["id"].(string)

	// Without documents: says plainly that no generative model is configured.
	r := ta.Do(http.MethodPost, "/api/chats/"+chatID+"/messages", ada.Token, map[string]any{"content": "Hello!"})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	var reply struct {
		UserMessage storage.Message
		Message     storage.Message
	}
	r.Decode(t, &reply)
	require.Equal(t, local.NoModelAnswer, reply.Message.Content)
	require.Equal(t, "Hello!", reply.UserMessage.Content)

	// With documents, streamed: delta events, then done with the stored message.
	upload(t, ta, ada.Token, apptest.File{Name: "herons.md", Content: herons})
	r = ta.Do(http.MethodPost, "/api/chats/"+chatID+"/messages", ada.Token, map[string]any{"content": "Where do grey herons nest?"}, "Accept", "text/event-stream")
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	require.Equal(t, "text/event-stream", r.Header.Get("Content-Type"))
	events := parseSSE(t, r.Body)
	require.Greater(t, len(events), 2)
	var streamed strings.Builder
	for _, e := range events[:len(events)-1] {
		require.Equal(t, "delta", e.name)
		var d struct{ Text string }
		require.NoError(t, json.Unmarshal([]byte(e.data), &d))
		streamed.WriteString(d.Text)
	}
	last := events[len(events)-1]
	require.Equal(t, "done", last.name)
	require.NoError(t, json.Unmarshal([]byte(last.data), &reply))
	require.Equal(t, reply.Message.Content, streamed.String())
	require.Contains(t, reply.Message.Content, "heronries")
	require.NotEmpty(t, reply.Message.Citations)

	// Everything is stored, in order.
	var msgs struct{ Messages []storage.Message }
	ta.Do(http.MethodGet, "/api/chats/"+chatID+"/messages", ada.Token, nil).Decode(t, &msgs)
	require.Len(t, msgs.Messages, 4)
	require.Equal(t, []string{"user", "assistant", "user", "assistant"}, []string{msgs.Messages[0].Role, msgs.Messages[1].Role, msgs.Messages[2].Role, msgs.Messages[3].Role})
	require.Equal(t, "local", msgs.Messages[3].Provider)

	// A bad request to a stream is still a JSON error, not a stream.
	r = ta.Do(http.MethodPost, "/api/chats/"+chatID+"/messages", ada.Token, map[string]any{"content": ""}, "Accept", "text/event-stream")
	require.Equal(t, http.StatusBadRequest, r.Status)
	require.Equal(t, "invalid_request", r.ErrorCode(t))

	var chats struct{ Chats []storage.Chat }
	ta.Do(http.MethodGet, "/api/chats", ada.Token, nil).Decode(t, &chats)
	require.Len(t, chats.Chats, 1)
	require.Equal(t, "birds", chats.Chats[0].Title)
}

type sseEvent struct{ name, data string }

func parseSSE(t *testing.T, body []byte) []sseEvent {
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		case line == "":
			out = append(out, cur)
			cur = sseEvent{}
		}
	}
	require.NoError(t, sc.Err())
	return out
}

func TestDeleteRemovesFromEveryIndex(t *testing.T) {
	ta := apptest.New(t, nil)
	ada := ta.Register("ada@example.com")
	doc := upload(t, ta, ada.Token, apptest.File{Name: "herons.md", Content: herons})[0]
	require.Equal(t, http.StatusNoContent, ta.Do(http.MethodDelete, "/api/documents/"+doc.ID, ada.Token, nil).Status)
	require.Zero(t, ta.Indexes.Vectors.Len())
	n, err := ta.Indexes.Keywords.Len()
	require.NoError(t, err)
	require.Zero(t, n)
	var a ragAnswer
	ta.Do(http.MethodPost, "/api/rag/query", ada.Token, map[string]any{"question": "herons"}).Decode(t, &a)
	require.Empty(t, a.Sources)
	require.Equal(t, http.StatusNotFound, ta.Do(http.MethodGet, "/api/documents/"+doc.ID, ada.Token, nil).Status)
}

func TestCostMetricsReportStatementOverHTTP(t *testing.T) {
	ta := apptest.New(t, map[string]string{"PENNY_REGISTRATION": "open"})
	admin := ta.Register("admin@example.com")
	m := ta.Register("m@example.com")
	upload(t, ta, m.Token, apptest.File{Name: "herons.md", Content: herons})
	ta.Do(http.MethodPost, "/api/rag/query", m.Token, map[string]any{"question": "Where do grey herons nest?"})

	r := ta.Do(http.MethodGet, "/api/costs/metrics?groupBy=service,provider,day", m.Token, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var met struct {
		Scope  string
		Total  struct{ Calls int }
		Groups map[string][]struct{ Key string }
	}
	r.Decode(t, &met)
	require.Equal(t, "user", met.Scope)
	require.Equal(t, 3, met.Total.Calls)
	require.Len(t, met.Groups["service"], 2)
	require.Equal(t, http.StatusForbidden, ta.Do(http.MethodGet, "/api/costs/metrics?groupBy=user", m.Token, nil).Status)
	require.Equal(t, http.StatusOK, ta.Do(http.MethodGet, "/api/costs/metrics?groupBy=user", admin.Token, nil).Status)
	require.Equal(t, http.StatusBadRequest, ta.Do(http.MethodGet, "/api/costs/metrics?groupBy=colour", admin.Token, nil).Status)

	r = ta.Do(http.MethodGet, "/api/costs/report?format=md", admin.Token, nil)
	require.Equal(t, http.StatusOK, r.Status)
	require.Contains(t, string(r.Body), "# penny savings report")
	require.Contains(t, string(r.Body), "| local/penny-local-extractive | cheap | 1 | 0 | – | 100 % (1) |", "quality side by side: rag/query answers are scored (on the ledger), not rated")
	require.Contains(t, r.Header.Get("Content-Type"), "text/markdown")
	r = ta.Do(http.MethodGet, "/api/costs/report?format=csv&month=2026-11", admin.Token, nil)
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, http.StatusBadRequest, ta.Do(http.MethodGet, "/api/costs/report?month=november", admin.Token, nil).Status)

	r = ta.Do(http.MethodGet, "/api/costs/statement", m.Token, nil)
	require.Equal(t, http.StatusOK, r.Status)
	require.Contains(t, string(r.Body), "m@example.com")
	require.NotContains(t, string(r.Body), "admin@example.com")
	r = ta.Do(http.MethodGet, "/api/costs/statement?userId="+admin.ID, m.Token, nil)
	require.Equal(t, http.StatusNotFound, r.Status, "a member cannot read another user's statement")
}

func TestFeedbackAndQualityReport(t *testing.T) {
	ta := apptest.New(t, map[string]string{"PENNY_REGISTRATION": "open"})
	admin := ta.Register("admin@example.com")
	m := ta.Register("m@example.com")
	upload(t, ta, m.Token, apptest.File{Name: "herons.md", Content: herons})
	chatID := ta.Do(http.MethodPost, "/api/chats", m.Token, nil).JSON(t)["id"].(string)
	var reply struct {
		UserMessage storage.Message
		Message     storage.Message
	}
	ta.Do(http.MethodPost, "/api/chats/"+chatID+"/messages", m.Token, map[string]any{"content": "Where do grey herons nest?"}).Decode(t, &reply)
	require.InDelta(t, 1.0, reply.Message.Groundedness, 1e-9, "an extractive answer is fully grounded")
	require.Equal(t, "small", reply.Message.Tier)

	fb := func(token, id string, body any) apptest.Response {
		return ta.Do(http.MethodPost, "/api/messages/"+id+"/feedback", token, body)
	}
	require.Equal(t, http.StatusOK, fb(m.Token, reply.Message.ID, map[string]any{"rating": "up", "comment": "spot on"}).Status)
	require.Equal(t, http.StatusNotFound, fb(admin.Token, reply.Message.ID, map[string]any{"rating": "down"}).Status, "not another user's answer")
	require.Equal(t, http.StatusBadRequest, fb(m.Token, reply.Message.ID, map[string]any{"rating": "meh"}).Status)
	require.Equal(t, http.StatusBadRequest, fb(m.Token, reply.UserMessage.ID, map[string]any{"rating": "up"}).Status, "only answers")
	require.Equal(t, http.StatusNotFound, fb(m.Token, "nope", map[string]any{"rating": "up"}).Status)

	require.Equal(t, http.StatusForbidden, ta.Do(http.MethodGet, "/api/quality/report", m.Token, nil).Status)
	var rep struct {
		Rows []struct {
			Provider, Model     string
			Calls, Rated, Up    int
			Satisfaction        *float64
			Groundedness        *float64
			GroundednessSamples int
		}
	}
	r := ta.Do(http.MethodGet, "/api/quality/report", admin.Token, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	r.Decode(t, &rep)
	require.Len(t, rep.Rows, 1)
	row := rep.Rows[0]
	require.Equal(t, "local", row.Provider)
	require.Equal(t, 1, row.Calls)
	require.Equal(t, 1, row.Rated)
	require.InDelta(t, 1.0, *row.Satisfaction, 1e-9)
	require.Equal(t, 1, row.GroundednessSamples)
}

func TestPrometheusMetrics(t *testing.T) {
	ta := apptest.New(t, nil)
	ada := ta.Register("ada@example.com")
	upload(t, ta, ada.Token, apptest.File{Name: "herons.md", Content: herons})
	ta.Do(http.MethodPost, "/api/rag/query", ada.Token, map[string]any{"question": "Where do grey herons nest?"})
	ta.Do(http.MethodPost, "/api/rag/query", ada.Token, map[string]any{"question": "Where do grey herons nest?"})
	r := ta.Do(http.MethodGet, "/metrics", "", nil) // the test client is on loopback
	require.Equal(t, http.StatusOK, r.Status)
	body := string(r.Body)
	for _, want := range []string{
		`penny_http_requests_total{method="POST",route="/api/rag/query",status="200"} 2`,
		`penny_provider_calls_total{kind="embedding",model="penny-hash-384",outcome="ok",provider="local",service="ingest"} 1`,
		`penny_cache_hits_total{class="rag"} 1`,
		`penny_baseline_micro_dollars_total{service="rag"}`,
		`penny_breaker_open{model="penny-local-extractive",provider="local"} 0`,
		"go_goroutines",
	} {
		require.Contains(t, body, want)
	}
	require.NotContains(t, body, "heron", "no user content in metrics")

	tok := apptest.New(t, map[string]string{"PENNY_METRICS_TOKEN": "scrape-me"})
	require.Equal(t, http.StatusUnauthorized, tok.Do(http.MethodGet, "/metrics", "", nil).Status)
	require.Equal(t, http.StatusOK, tok.Do(http.MethodGet, "/metrics", "scrape-me", nil).Status)
}

// TestPDFCitationsKeepPages: a PDF is answered from with citations that
// name the page; a scanned PDF is refused as needing OCR.
func TestPDFCitationsKeepPages(t *testing.T) {
	ta := apptest.New(t, nil)
	ada := ta.Register("ada@example.com")
	pdf := pdftest.Make("Field guide to wading birds.\nIntroduction and contents.",
		"Grey herons nest in colonies called heronries.\nThey build nests high in tall trees near lakes.")
	r := ta.Upload(ada.Token, apptest.File{Name: "guide.pdf", Content: string(pdf)})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	require.Contains(t, string(r.Body), `"pages":2`)
	require.Contains(t, string(r.Body), `"contentType":"application/pdf"`)

	var a ragAnswer
	ta.Do(http.MethodPost, "/api/rag/query", ada.Token, map[string]any{"question": "Where do grey herons nest?"}).Decode(t, &a)
	require.Contains(t, a.Answer, "heronries")
	require.NotEmpty(t, a.Citations)
	require.Equal(t, 2, a.Citations[0].Page)

	r = ta.Upload(ada.Token, apptest.File{Name: "scan.pdf", Content: string(pdftest.Make(""))})
	require.Equal(t, http.StatusCreated, r.Status)
	var out struct{ Documents []storage.Document }
	r.Decode(t, &out)
	require.Equal(t, storage.DocumentFailed, out.Documents[0].Status, "reported, not indexed empty")
	require.Contains(t, out.Documents[0].Error, "needs OCR")
}

// TestSharingGrantsReadNotWrite: access is enforced inside retrieval — a
// document not shared never reaches another user's answers, citations,
// chats or cached answers; shared, it does; unshared, it is gone again.
func TestSharingGrantsReadNotWrite(t *testing.T) {
	ta := apptest.New(t, map[string]string{"PENNY_REGISTRATION": "open"})
	_ = ta.Register("admin@example.com")
	a := ta.Register("a@example.com")
	b := ta.Register("b@example.com")
	c := ta.Register("c@example.com")
	doc := upload(t, ta, a.Token, apptest.File{Name: "herons.md", Content: herons})[0]
	ask := func(token string) ragAnswer {
		var out ragAnswer
		ta.Do(http.MethodPost, "/api/rag/query", token, map[string]any{"question": "Where do grey herons nest?"}).Decode(t, &out)
		return out
	}
	require.NotContains(t, ask(b.Token).Answer, "heronries", "not shared: never retrieved")

	share := func(token string, body any) apptest.Response {
		return ta.Do(http.MethodPut, "/api/documents/"+doc.ID+"/sharing", token, body)
	}
	require.Equal(t, http.StatusNotFound, share(b.Token, map[string]any{"users": []string{"b@example.com"}}).Status, "only the owner shares")
	require.Equal(t, http.StatusBadRequest, share(a.Token, map[string]any{"users": []string{"nobody@example.com"}}).Status)
	r := share(a.Token, map[string]any{"users": []string{"b@example.com"}})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))

	got := ask(b.Token)
	require.Contains(t, got.Answer, "heronries")
	require.Equal(t, doc.ID, got.Citations[0].DocumentID)
	require.Equal(t, http.StatusOK, ta.Do(http.MethodGet, "/api/documents/"+doc.ID+"/chunks/"+got.Citations[0].ChunkID, b.Token, nil).Status)
	require.Equal(t, http.StatusOK, ta.Do(http.MethodGet, "/api/documents/"+doc.ID, b.Token, nil).Status)
	require.Equal(t, http.StatusNotFound, ta.Do(http.MethodDelete, "/api/documents/"+doc.ID, b.Token, nil).Status, "readers do not delete")
	require.NotContains(t, ask(c.Token).Answer, "heronries", "c still cannot")

	require.Equal(t, http.StatusOK, share(a.Token, map[string]any{"everyone": true}).Status)
	require.Contains(t, ask(c.Token).Answer, "heronries")
	require.Contains(t, ask(b.Token).Answer, "heronries", "b still reads it")

	require.Equal(t, http.StatusOK, share(a.Token, map[string]any{"users": []string{}, "everyone": false}).Status)
	for _, u := range []apptest.User{b, c} {
		after := ask(u.Token)
		require.NotContains(t, after.Answer, "heronries", "unshared: gone, even from the answer caches")
		require.Empty(t, after.Citations)
		require.Equal(t, http.StatusNotFound, ta.Do(http.MethodGet, "/api/documents/"+doc.ID, u.Token, nil).Status)
	}
}

// TestUnwritableDataDir: when the uploads cannot be written (here the
// files directory is replaced by a file; a full or read-only disk fails
// the same call), the upload is refused with a JSON error naming the
// request, and nothing half-written stays: no document, no job. Once the
// disk is back, uploads work.
func TestUnwritableDataDir(t *testing.T) {
	ta := apptest.New(t, nil)
	ada := ta.Register("ada@example.com")
	files := ta.Config.FilesDir()
	require.NoError(t, os.RemoveAll(files))
	require.NoError(t, os.WriteFile(files, []byte("in the way"), 0o600))

	r := ta.Upload(ada.Token, apptest.File{Name: "herons.md", Content: herons})
	require.Equal(t, http.StatusInternalServerError, r.Status, string(r.Body))
	require.Equal(t, "internal_error", r.ErrorCode(t))
	require.Contains(t, r.JSON(t)["error"].(map[string]any)["message"], "request", "the message carries the request id for the log")
	list := ta.Do(http.MethodGet, "/api/documents", ada.Token, nil).JSON(t)
	require.Zero(t, list["total"], "nothing half-written")

	require.NoError(t, os.Remove(files))
	docs := upload(t, ta, ada.Token, apptest.File{Name: "herons.md", Content: herons})
	require.Equal(t, storage.DocumentReady, docs[0].Status, "the same upload works once the disk is back")
}

// File names are the client's to choose: directories and dots are dropped,
// the name is only a label, and nothing is written outside the data dir.
func TestUploadNamesCannotEscape(t *testing.T) {
	parent := t.TempDir()
	dir := parent + "/data"
	ta := apptest.Open(t, dir, nil)
	ada := ta.Register("ada@example.com")
	for name, want := range map[string]string{
		"../../escape-1.md":          "escape-1.md",
		`..\..\windows\escape-2.md`:  "escape-2.md",
		"/etc/cron.d/escape-3.md":    "escape-3.md",
		"....//....//escape-4.md":    "escape-4.md",
		"..":                         "", // no name left
		".hidden-escape-5.md":        "hidden-escape-5.md",
		"sub/dir/../../escape-6.md":  "escape-6.md",
		"escape-7.md\r\nX-Evil: yes": "", // no known extension
	} {
		r := ta.Upload(ada.Token, apptest.File{Name: name, Content: "Grey herons nest in heronries near the lake, says " + want + "."})
		if want == "" {
			require.Equal(t, http.StatusUnsupportedMediaType, r.Status, name)
			continue
		}
		require.Equal(t, http.StatusCreated, r.Status, "%s: %s", name, r.Body)
		var out struct{ Documents []storage.Document }
		r.Decode(t, &out)
		require.Equal(t, want, out.Documents[0].Filename, name)
	}
	ta.Stop()
	var outside []string
	require.NoError(t, filepath.WalkDir(parent, func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), "escape") {
			outside = append(outside, path)
		}
		return err
	}))
	require.Empty(t, outside, "no file is named after an upload")
}
