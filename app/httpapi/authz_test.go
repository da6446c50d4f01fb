package httpapi_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/apptest"
	"github.com/penny-dev/penny/app/httpapi"
)

// The authorization matrix, generated from the route table: a route added
// later is checked without anyone remembering to.

// publicRoutes answer without a caller (each has its own reason).
var publicRoutes = map[string]bool{
	"GET /healthz": true, "GET /readyz": true, // probes
	"GET /metrics":          true, // its own bearer token (PENNY_METRICS_TOKEN)
	"GET /api/openapi.json": true,
	"GET /api/auth/options": true, "POST /api/auth/register": true, "POST /api/auth/login": true,
	"POST /api/auth/refresh": true, "POST /api/auth/logout": true, // they make or end sessions
}

// adminRoute: what only admins may call.
func adminRoute(path string) bool {
	return strings.HasPrefix(path, "/api/admin/") || path == "/api/health/providers" || path == "/api/quality/report"
}

type route struct{ method, path string }

func (r route) String() string { return r.method + " " + r.path }

func routes(t *testing.T, ta *apptest.TestApp) []route {
	var out []route
	for _, rt := range httpapi.New(ta.App).Routes() {
		if rt.Path == "/*" || strings.HasPrefix(rt.Method, "echo_") || rt.Method == http.MethodHead {
			continue
		}
		out = append(out, route{rt.Method, rt.Path})
	}
	require.NotEmpty(t, out)
	return out
}

var param = regexp.MustCompile(`:(\w+)`)

// fill puts ids into a route's parameters: the owner's resources, or ids
// that do not exist.
func fill(path string, ids map[string]string) string {
	return param.ReplaceAllStringFunc(path, func(p string) string {
		switch {
		case p == ":chunkId":
			return ids["chunk"]
		case strings.HasPrefix(path, "/api/documents/"):
			return ids["document"]
		case strings.HasPrefix(path, "/api/chats/"):
			return ids["chat"]
		case strings.HasPrefix(path, "/api/messages/"):
			return ids["message"]
		case strings.HasPrefix(path, "/api/keys/"):
			return ids["key"]
		default:
			return "auto" // /v1/models/:id: not a user's resource
		}
	})
}

func body(path string) any {
	switch {
	case strings.HasSuffix(path, "/feedback"):
		return map[string]any{"rating": "up"}
	case strings.HasSuffix(path, "/messages"):
		return map[string]any{"content": "hello"}
	case strings.HasSuffix(path, "/sharing"):
		return map[string]any{"users": []string{}, "everyone": true}
	}
	return map[string]any{}
}

func TestAuthorizationMatrix(t *testing.T) {
	ta := apptest.New(t, map[string]string{"PENNY_REGISTRATION": "open"})
	ta.Register("admin@example.com")
	owner := ta.Register("owner@example.com")
	foreign := ta.Register("foreign@example.com")

	// The owner's resources.
	docs := upload(t, ta, owner.Token, apptest.File{Name: "herons.md", Content: herons})
	r := ta.Do(http.MethodPost, "/api/chats", owner.Token, map[string]any{"title": "birds"})
	require.Equal(t, http.StatusCreated, r.Status)
	chatID := r.JSON(t)["id"].(string)
	r = ta.Do(http.MethodPost, "/api/chats/"+chatID+"/messages", owner.Token, map[string]any{"content": "Where do grey herons nest?"})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	var reply struct {
		Message struct {
			ID        string
			Citations []struct{ ChunkID string }
		}
	}
	r.Decode(t, &reply)
	require.NotEmpty(t, reply.Message.Citations)
	key := ta.Do(http.MethodPost, "/api/keys", owner.Token, map[string]any{"name": "mine"}).JSON(t)
	revoked := ta.Do(http.MethodPost, "/api/keys", owner.Token, map[string]any{"name": "gone"}).JSON(t)
	require.Equal(t, http.StatusNoContent, ta.Do(http.MethodDelete, "/api/keys/"+revoked["id"].(string), owner.Token, nil).Status)
	ids := map[string]string{"document": docs[0].ID, "chunk": reply.Message.Citations[0].ChunkID, "chat": chatID,
		"message": reply.Message.ID, "key": key["id"].(string)}
	missing := map[string]string{"document": "01JZZZZZZZZZZZZZZZZZZZZZZZ", "chunk": "01JZZZZZZZZZZZZZZZZZZZZZZY", "chat": "01JZZZZZZZZZZZZZZZZZZZZZZX",
		"message": "01JZZZZZZZZZZZZZZZZZZZZZZW", "key": "01JZZZZZZZZZZZZZZZZZZZZZZV"}

	all := routes(t, ta)
	var guarded, admin, owned int
	for _, rt := range all {
		if publicRoutes[rt.String()] {
			continue
		}
		guarded++
		path := fill(rt.path, ids)
		for name, token := range map[string]string{"anonymous": "", "a forged token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
			"a revoked API key": revoked["key"].(string)} {
			r := ta.Do(rt.method, path, token, body(rt.path))
			require.Equal(t, http.StatusUnauthorized, r.Status, "%s as %s: %s", rt, name, r.Body)
		}
		if adminRoute(rt.path) {
			admin++
			r := ta.Do(rt.method, path, foreign.Token, body(rt.path))
			require.Equal(t, http.StatusForbidden, r.Status, "%s as a member: %s", rt, r.Body)
			continue
		}
		if !strings.Contains(rt.path, ":") || strings.HasPrefix(rt.path, "/v1/") {
			continue
		}
		// A foreign member learns nothing: the answer for the owner's id is
		// the answer for an id that does not exist.
		owned++
		theirs := ta.Do(rt.method, path, foreign.Token, body(rt.path))
		none := ta.Do(rt.method, fill(rt.path, missing), foreign.Token, body(rt.path))
		require.Equal(t, http.StatusNotFound, theirs.Status, "%s as a foreign member: %s", rt, theirs.Body)
		require.Equal(t, none.Status, theirs.Status, rt.String())
		require.Equal(t, string(none.Body), string(theirs.Body), "%s: another's resource and no resource look the same", rt)
	}
	t.Logf("%d guarded routes, %d admin routes, %d routes on another user's resources", guarded, admin, owned)
	require.Greater(t, guarded, 30, "the matrix covers the route table")
	require.GreaterOrEqual(t, admin, 6)
	require.GreaterOrEqual(t, owned, 6)

	// Nothing of the owner's changed, and the foreign member's lists are empty.
	require.Equal(t, http.StatusOK, ta.Do(http.MethodGet, "/api/documents/"+ids["document"], owner.Token, nil).Status)
	require.Equal(t, http.StatusOK, ta.Do(http.MethodGet, "/v1/models", key["key"].(string), nil).Status, "the owner's key survived")
	lists := ta.Do(http.MethodGet, "/api/documents", foreign.Token, nil).JSON(t)
	require.Zero(t, lists["total"])
	require.Empty(t, ta.Do(http.MethodGet, "/api/chats", foreign.Token, nil).JSON(t)["chats"])
	require.Empty(t, ta.Do(http.MethodGet, "/api/keys", foreign.Token, nil).JSON(t)["keys"])
	spend := ta.Do(http.MethodGet, "/api/costs/summary", foreign.Token, nil).JSON(t)
	require.Zero(t, spend["total"].(map[string]any)["calls"], "the owner's calls are not in the foreign member's costs")
	r = ta.Do(http.MethodGet, "/api/costs/metrics?userId="+owner.ID, foreign.Token, nil)
	require.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, r.Status, "members do not read another's costs")
}

// Every guarded route refuses an access token that has expired.
func TestExpiredTokenRefusedEverywhere(t *testing.T) {
	ta := apptest.New(t, map[string]string{"PENNY_ACCESS_TOKEN_TTL": "1s"})
	u := ta.Register("ada@example.com")
	time.Sleep(2100 * time.Millisecond) // the token's exp has passed (not a timing assertion)
	for _, rt := range routes(t, ta) {
		if publicRoutes[rt.String()] {
			continue
		}
		r := ta.Do(rt.method, fill(rt.path, map[string]string{}), u.Token, body(rt.path))
		require.Equal(t, http.StatusUnauthorized, r.Status, "%s with an expired token: %s", rt, r.Body)
	}
}
