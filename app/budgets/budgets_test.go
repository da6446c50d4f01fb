package budgets_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/budgets"
	"github.com/penny-dev/penny/providers/catalog"
	"github.com/penny-dev/penny/providers/router"
	"github.com/penny-dev/penny/storage"
	"github.com/penny-dev/penny/storage/bolt"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func open(t *testing.T, l budgets.Limits, o budgets.Options) (*budgets.Service, *bolt.Store) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "p.db"), bolt.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	o.Defaults, o.Now = l, func() time.Time { return now }
	s, err := budgets.New(context.Background(), st, o)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s, st
}

var paid = catalog.Model{Provider: "openai", ID: "gpt-4o-mini"}

// TestConcurrentCallsOvershootByAtMostOneReservation: 100 concurrent calls
// at a $1.00 budget, each reserving $0.10 and costing $0.10.
func TestConcurrentCallsOvershootByAtMostOneReservation(t *testing.T) {
	s, _ := open(t, budgets.Limits{GlobalMonthlyMicros: 1_000_000}, budgets.Options{})
	var wg sync.WaitGroup
	var admitted atomic.Int64
	start := make(chan struct{})
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			settle, err := s.Reserve(context.Background(), router.Call{UserID: "u"}, paid, 100_000)
			if err != nil {
				return
			}
			admitted.Add(1)
			time.Sleep(time.Millisecond) // the provider call
			settle(100_000)
		}()
	}
	close(start)
	wg.Wait()
	require.Equal(t, int64(10), admitted.Load(), "$1.00 / $0.10: ten calls, and not one more")
	st, err := s.Status(context.Background(), "u", true)
	require.NoError(t, err)
	require.LessOrEqual(t, st.Uses[0].SpentMicros, int64(1_000_000+100_000))
	require.Equal(t, "exceeded", st.Uses[0].State)
	_, err = s.Reserve(context.Background(), router.Call{}, paid, 1)
	require.ErrorContains(t, err, "global monthly budget ($1.00) is spent")
}

func TestSpendSurvivesRestartFromTheLedger(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "p.db"), bolt.Options{})
	require.NoError(t, err)
	defer st.Close()
	ctx := context.Background()
	for i, u := range []string{"a", "a", "b"} {
		require.NoError(t, st.AppendLedger(ctx, storage.LedgerEntry{ID: storage.NewID(), Time: now.Add(-time.Duration(i+1) * time.Hour),
			UserID: u, CostMicros: 400_000, Outcome: storage.OutcomeOK}))
	}
	// Last month's spend does not count.
	require.NoError(t, st.AppendLedger(ctx, storage.LedgerEntry{ID: storage.NewID(), Time: now.AddDate(0, -1, 0), UserID: "a", CostMicros: 9_000_000}))
	s, err := budgets.New(ctx, st, budgets.Options{Defaults: budgets.Limits{UserMonthlyMicros: 1_000_000}, Now: func() time.Time { return now }})
	require.NoError(t, err)
	defer s.Close()
	settle, err := s.Reserve(ctx, router.Call{UserID: "a"}, paid, 100_000)
	require.NoError(t, err, "a spent $0.80 of $1.00")
	settle(300_000)
	_, err = s.Reserve(ctx, router.Call{UserID: "a"}, paid, 1)
	require.ErrorContains(t, err, "user's monthly budget")
	_, err = s.Reserve(ctx, router.Call{UserID: "b"}, paid, 1)
	require.NoError(t, err, "b's budget is b's")
}

func TestAlertsOncePerThresholdWithSignedRetriedWebhook(t *testing.T) {
	var mu sync.Mutex
	var bodies [][]byte
	var tries atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tries.Add(1) == 1 {
			w.WriteHeader(http.StatusBadGateway) // the first delivery fails: retried
			return
		}
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte("s3cret"))
		mac.Write(body)
		if r.Header.Get(budgets.SignatureHeader) != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		bodies = append(bodies, body)
		mu.Unlock()
	}))
	defer hook.Close()
	s, st := open(t, budgets.Limits{GlobalMonthlyMicros: 1000, Thresholds: []int{80, 100}, WebhookURL: hook.URL, WebhookSecret: "s3cret"},
		budgets.Options{RetryBase: time.Millisecond})
	ctx := context.Background()
	spend := func(m int64) {
		settle, err := s.Reserve(ctx, router.Call{}, paid, m)
		require.NoError(t, err)
		settle(m)
	}
	spend(500)
	spend(350) // crosses 80 %
	spend(100) // still past 80 %: no second alert
	spend(100) // crosses 100 %
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(bodies) == 2 }, 5*time.Second, 5*time.Millisecond)
	require.Contains(t, string(bodies[0]), `"threshold":80`)
	require.Contains(t, string(bodies[1]), `"threshold":100`)
	status, err := s.Status(ctx, "", true)
	require.NoError(t, err)
	require.Len(t, status.Alerts, 2)
	require.Contains(t, status.Banner, "global monthly budget is spent")
	raw, err := st.GetSetting(ctx, "budgets.alerts")
	require.NoError(t, err, "alerts are stored: a restart does not announce them again")
	require.Contains(t, string(raw), `"threshold":100`)
}

func TestSettingsValidationAndSecret(t *testing.T) {
	s, _ := open(t, budgets.Limits{}, budgets.Options{})
	ctx := context.Background()
	out, err := s.Update(ctx, budgets.Settings{GlobalMonthlyUSD: 25, UserMonthlyUSD: 5, WebhookURL: "https://hooks.example/penny", WebhookSecret: "x"})
	require.NoError(t, err)
	require.True(t, out.WebhookSecretSet)
	require.Empty(t, out.WebhookSecret, "never returned")
	require.Equal(t, []int{80, 100}, out.Thresholds)
	for _, bad := range []budgets.Settings{{GlobalMonthlyUSD: -1}, {Thresholds: []int{0}}, {WebhookURL: "ftp://x"}} {
		_, err := s.Update(ctx, bad)
		require.Error(t, err)
	}
	// Free models never count: with the user's $5 spent, a free model still
	// passes.
	settle, err := s.Reserve(ctx, router.Call{UserID: "u"}, paid, 5_000_000)
	require.NoError(t, err)
	settle(5_000_000)
	_, err = s.Reserve(ctx, router.Call{UserID: "u"}, paid, 1)
	require.Error(t, err)
	settle, err = s.Reserve(ctx, router.Call{UserID: "u"}, catalog.Model{Provider: "local", Free: true}, 1)
	require.NoError(t, err)
	settle(0)
}
