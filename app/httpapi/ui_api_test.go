package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/apptest"
	"github.com/penny-dev/penny/storage"
)

// The routes the web UI leans on: what the sign-in page offers, paged and
// searched document lists, spend by day and provider, and answers that keep
// why they were routed where they were.

func TestSignUpOptions(t *testing.T) {
	ta := apptest.New(t, map[string]string{"PENNY_REGISTRATION": "closed"})
	options := func() map[string]any {
		r := ta.Do(http.MethodGet, "/api/auth/options", "", nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		return r.JSON(t)
	}
	require.Equal(t, map[string]any{"registration": "closed", "firstUser": true}, options(), "a fresh instance waits for its admin")
	ta.Register("admin@example.com")
	require.Equal(t, map[string]any{"registration": "closed", "firstUser": false}, options())
}

func TestDocumentListPagesAndSearches(t *testing.T) {
	ta := apptest.New(t, nil)
	ada := ta.Register("ada@example.com")
	var files []apptest.File
	for i := range 7 {
		files = append(files, apptest.File{Name: fmt.Sprintf("note-%d.txt", i), Content: fmt.Sprintf("Note number %d is about topic %d.", i, i)})
	}
	upload(t, ta, ada.Token, files...)
	require.Equal(t, http.StatusCreated, ta.UploadTo(ada.Token, "research", apptest.File{Name: "heron-study.md", Content: herons}).Status)

	type page struct {
		Documents   []storage.Document
		Total       int
		Collections []string
	}
	list := func(query string) page {
		t.Helper()
		r := ta.Do(http.MethodGet, "/api/documents"+query, ada.Token, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var p page
		r.Decode(t, &p)
		return p
	}
	all := list("")
	require.Equal(t, 8, all.Total)
	require.Len(t, all.Documents, 8, "without limit, the whole list")
	require.Equal(t, []string{"default", "research"}, all.Collections)

	first, second, last := list("?limit=3"), list("?limit=3&offset=3"), list("?limit=3&offset=6")
	require.Len(t, first.Documents, 3)
	require.Len(t, second.Documents, 3)
	require.Len(t, last.Documents, 2)
	seen := map[string]bool{}
	for _, p := range []page{first, second, last} {
		require.Equal(t, 8, p.Total)
		for _, d := range p.Documents {
			require.False(t, seen[d.ID], "pages do not overlap")
			seen[d.ID] = true
		}
	}
	require.Len(t, seen, 8, "the pages cover the list")
	require.Empty(t, list("?limit=3&offset=30").Documents, "past the end: an empty page")

	found := list("?q=HERON")
	require.Equal(t, 1, found.Total, "search ignores case and matches the file name")
	require.Equal(t, "heron-study.md", found.Documents[0].Filename)
	require.Equal(t, 7, list("?collection=default&q=note").Total)
	require.Zero(t, list("?collection=research&q=note").Total)

	for _, bad := range []string{"?limit=ten", "?offset=-1"} {
		r := ta.Do(http.MethodGet, "/api/documents"+bad, ada.Token, nil)
		require.Equal(t, http.StatusBadRequest, r.Status, bad)
		require.Equal(t, "invalid_request", r.ErrorCode(t))
	}
}

func TestSpendByDayAndProvider(t *testing.T) {
	ta := apptest.New(t, map[string]string{"PENNY_REGISTRATION": "open"})
	ada := ta.Register("ada@example.com")
	upload(t, ta, ada.Token, apptest.File{Name: "herons.md", Content: herons})
	r := ta.Do(http.MethodPost, "/api/rag/query", ada.Token, map[string]any{"question": "Where do grey herons nest?"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))

	r = ta.Do(http.MethodGet, "/api/costs/metrics?groupBy=day:provider,provider", ada.Token, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var m struct {
		Total  struct{ Calls int }
		Groups map[string][]struct {
			Key   string
			Calls int
		}
	}
	r.Decode(t, &m)
	calls := 0
	for _, g := range m.Groups["day:provider"] {
		day, provider, ok := strings.Cut(g.Key, "|")
		require.True(t, ok, g.Key)
		require.Len(t, day, len("2006-01-02"))
		require.Equal(t, "local", provider)
		calls += g.Calls
	}
	require.Equal(t, m.Total.Calls, calls, "the cross-tab adds up to the total")
	require.NotEmpty(t, m.Groups["provider"])

	member := ta.Register("bob@example.com")
	r = ta.Do(http.MethodGet, "/api/costs/metrics?groupBy=day:user", member.Token, nil)
	require.Equal(t, http.StatusForbidden, r.Status, "members do not group by user, not even in a pair")
	r = ta.Do(http.MethodGet, "/api/costs/metrics?groupBy=day:colour", ada.Token, nil)
	require.Equal(t, http.StatusBadRequest, r.Status)
}

func TestChatAnswerKeepsItsRoutingReasons(t *testing.T) {
	ta := apptest.New(t, nil)
	ada := ta.Register("ada@example.com")
	upload(t, ta, ada.Token, apptest.File{Name: "herons.md", Content: herons})
	// Two chats ask the same first question: the second answer is cached.
	var answers []storage.Message
	for range 2 {
		r := ta.Do(http.MethodPost, "/api/chats", ada.Token, map[string]any{"title": "birds"})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		chatID := r.JSON(t)["id"].(string)
		r = ta.Do(http.MethodPost, "/api/chats/"+chatID+"/messages", ada.Token, map[string]any{"content": "Where do grey herons nest?"})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		r = ta.Do(http.MethodGet, "/api/chats/"+chatID+"/messages", ada.Token, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var out struct{ Messages []storage.Message }
		r.Decode(t, &out)
		require.Len(t, out.Messages, 2)
		answers = append(answers, out.Messages[1])
	}
	first, again := answers[0], answers[1]
	require.NotEmpty(t, first.Reasons, "the history says why this model answered")
	require.Empty(t, first.Cached)
	require.Equal(t, "exact", again.Cached, "the same question over the same passages comes from the cache")
	require.Contains(t, strings.Join(again.Reasons, " "), "cache")
}
