package seed_test

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/apptest"
	"github.com/penny-dev/penny/app/seed"
	"github.com/penny-dev/penny/storage"
)

func login(t *testing.T, ta *apptest.TestApp, name string) string {
	t.Helper()
	r := ta.Do(http.MethodPost, "/api/auth/login", "", map[string]string{"email": name + "@" + seed.Domain, "password": seed.Password})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	return r.JSON(t)["accessToken"].(string)
}

// TestDemo: the demo instance has what the issue lists, its answers cite
// real passages, its sharing holds (a member outside the research group
// cannot read the research notes), a second run changes nothing, and
// reset removes it.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	ta := apptest.Open(t, dir, nil)
	ctx := t.Context()
	sum, err := seed.Demo(ctx, ta.App)
	require.NoError(t, err)
	require.Equal(t, 10, sum.Users)
	require.Equal(t, 20, sum.Chats)
	require.Equal(t, 100, sum.Messages)
	require.Positive(t, sum.Feedback)

	users, err := ta.Store.ListUsers(ctx)
	require.NoError(t, err)
	require.Len(t, users, 10)
	admins, pdfs, markdown := 0, 0, 0
	collections := map[string]bool{}
	for _, u := range users {
		if u.Role == storage.RoleAdmin {
			admins++
		}
		docs, err := ta.Store.ListDocuments(ctx, u.ID)
		require.NoError(t, err)
		for _, d := range docs {
			require.Equal(t, storage.DocumentReady, d.Status)
			collections[d.Collection] = true
			switch {
			case strings.HasSuffix(d.Filename, ".pdf"):
				pdfs++
				require.Positive(t, d.Pages)
			case strings.HasSuffix(d.Filename, ".md"):
				markdown++
			}
		}
	}
	require.Equal(t, 2, admins)
	require.Equal(t, 10, pdfs)
	require.Positive(t, markdown)
	require.Len(t, collections, 2)

	// Thirty days of history across providers, priced.
	var first, last time.Time
	byProvider := map[string]int64{}
	require.NoError(t, ta.Store.EachLedger(ctx, storage.LedgerFilter{From: time.Now().AddDate(0, 0, -40), To: time.Now().Add(time.Hour)}, func(e storage.LedgerEntry) error {
		if first.IsZero() {
			first = e.Time
		}
		last = e.Time
		byProvider[e.Provider] += e.CostMicros
		return nil
	}))
	require.GreaterOrEqual(t, last.Sub(first), 28*24*time.Hour)
	require.Positive(t, byProvider["cloudflare"])
	require.Positive(t, byProvider["openai"])
	require.Contains(t, byProvider, "anthropic")

	// Answers cite real passages; the research notes stay with their group.
	alan, frances := login(t, ta, "alan"), login(t, ta, "frances")
	q := map[string]any{"question": "How many nests were at Willow Lake in 2025?"}
	r := ta.Do(http.MethodPost, "/api/rag/query", alan, q)
	require.Equal(t, http.StatusOK, r.Status)
	require.Contains(t, r.JSON(t)["answer"], "64 occupied nests")
	r = ta.Do(http.MethodPost, "/api/rag/query", frances, q)
	require.Equal(t, http.StatusOK, r.Status)
	require.NotContains(t, string(r.Body), "Willow Lake", "frances may not read the research notes")

	again, err := seed.Demo(ctx, ta.App)
	require.NoError(t, err)
	require.True(t, again.Already)
	users, err = ta.Store.ListUsers(ctx)
	require.NoError(t, err)
	require.Len(t, users, 10, "a second run adds nothing")

	cfg := ta.Config
	require.Error(t, seed.Reset(ctx, cfg), "not while the server holds the data dir")
	ta.Stop()
	require.NoError(t, seed.Reset(ctx, cfg))
	_, err = os.Stat(cfg.StorePath())
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestDemoRefusesARealInstance: neither the demo nor its reset touches a
// data dir with accounts of its own.
func TestDemoRefusesARealInstance(t *testing.T) {
	ta := apptest.New(t, nil)
	ta.Register("owner@example.com")
	_, err := seed.Demo(t.Context(), ta.App)
	require.ErrorIs(t, err, seed.ErrNotDemo)
	cfg := ta.Config
	ta.Stop()
	require.ErrorIs(t, seed.Reset(t.Context(), cfg), seed.ErrNotDemo)
	_, err = os.Stat(cfg.StorePath())
	require.NoError(t, err)
}
