package main

import (
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/providers/providertest"
	"github.com/penny-dev/penny/storage/blobs3/s3test"
	"github.com/penny-dev/penny/storage/cache/redis/redistest"
	"github.com/penny-dev/penny/storage/postgres/pgtest"
)

// TestReplicasShareOneTruth starts two real `penny serve` processes on one
// PostgreSQL (PGlite: PostgreSQL 17 with pgvector), one Redis and one S3
// bucket (s3rver) for the uploads, with a
// fake OpenAI as the paid provider, and checks that they behave as one
// instance: a document uploaded through one is answerable through the
// other, the rollback switch and a budget set on one apply on the other,
// a revoked API key or refresh token is refused by both, and both read the
// same ledger.
func TestReplicasShareOneTruth(t *testing.T) {
	db := pgtest.PGlite(t)
	rd := redistest.Start(t)
	s3 := s3test.Start(t)
	oa := providertest.NewOpenAI("sk-test")
	t.Cleanup(oa.Close)
	bin := buildPenny(t)

	env := []string{"PENNY_LOGIN_MAX_FAILURES=4", "PENNY_DATABASE_URL=" + db, "PENNY_REDIS_URL=" + rd, "PENNY_REGISTRATION=open",
		"OPENAI_API_KEY=sk-test", "PENNY_OPENAI_BASE_URL=" + oa.BaseURL(), "PENNY_CACHE_SIZE=0",
		"PENNY_S3_ENDPOINT=" + s3, "PENNY_S3_ACCESS_KEY=S3RVER", "PENNY_S3_SECRET_KEY=S3RVER"}
	migrate := exec.Command(bin, "migrate", "up")
	migrate.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
	out, err := migrate.CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "applied 0001_records")

	a := startPenny(t, bin, t.TempDir(), env...)
	b := startPenny(t, bin, t.TempDir(), env...)

	// One account, signed in on both.
	status, reg := call(t, a, "POST", "/api/auth/register", "", map[string]string{"email": "ada@example.com", "password": "correct horse battery"})
	require.Equal(t, http.StatusCreated, status, reg)
	tokenA := reg["accessToken"].(string)
	status, login := call(t, b, "POST", "/api/auth/login", "", map[string]string{"email": "ada@example.com", "password": "correct horse battery"})
	require.Equal(t, http.StatusOK, status, login)
	tokenB := login["accessToken"].(string)

	// A document uploaded through A is answered through B.
	upload(t, a, tokenA, "herons.md", "Grey herons nest in colonies called heronries, high in tall trees near lakes.\n")
	status, answer := call(t, b, "POST", "/api/rag/query", tokenB, map[string]any{"question": "Where do grey herons nest?"})
	require.Equal(t, http.StatusOK, status, answer)
	require.Contains(t, answer["answer"], "heronries")
	require.NotEmpty(t, answer["citations"])

	// The rollback switch set on A applies on B within a second.
	status, routing := call(t, a, "PUT", "/api/admin/routing", tokenA, map[string]any{"forceProvider": "openai"})
	require.Equal(t, http.StatusOK, status, routing)
	require.Eventually(t, func() bool {
		_, r := call(t, b, "GET", "/api/admin/routing", tokenB, nil)
		return r["forceProvider"] == "openai"
	}, time.Second, 20*time.Millisecond, "B follows A's switch")
	status, answer = call(t, b, "POST", "/api/rag/query", tokenB, map[string]any{"question": "How high do herons nest?"})
	require.Equal(t, http.StatusOK, status, answer)
	require.Equal(t, "openai", answer["provider"], "B routes by the switch A set")

	// A budget spent on A stops paid calls on B. B learns the spend so far
	// first (a replica that kept its own tally would stop there), then A
	// spends, then the budget is set to exactly what is spent now.
	globalSpend := func(s *server, token string) (spent, limit float64) {
		_, st := call(t, s, "GET", "/api/costs/budgets", token, nil)
		for _, u := range st["budgets"].([]any) {
			if u := u.(map[string]any); u["scope"] == "global" {
				return u["spentMicros"].(float64), u["limitMicros"].(float64)
			}
		}
		return -1, -1
	}
	status, budgets := call(t, a, "PUT", "/api/admin/budgets", tokenA, map[string]any{"globalMonthlyUsd": 100})
	require.Equal(t, http.StatusOK, status, budgets)
	require.Eventually(t, func() bool { _, l := globalSpend(b, tokenB); return l == 100e6 }, time.Second, 20*time.Millisecond)
	seen, _ := globalSpend(b, tokenB)
	status, answer = call(t, a, "POST", "/api/rag/query", tokenA, map[string]any{"question": "Which trees do herons like?"})
	require.Equal(t, http.StatusOK, status, answer)
	require.Equal(t, "openai", answer["provider"])
	spent, _ := globalSpend(a, tokenA)
	require.Greater(t, spent, seen, "A spent after B looked")
	status, budgets = call(t, a, "PUT", "/api/admin/budgets", tokenA, map[string]any{"globalMonthlyUsd": spent / 1e6})
	require.Equal(t, http.StatusOK, status, budgets)
	require.Eventually(t, func() bool { _, l := globalSpend(b, tokenB); return l == spent }, time.Second, 20*time.Millisecond,
		"B applies the budget A set")
	bSpent, _ := globalSpend(b, tokenB)
	require.Equal(t, spent, bSpent, "B counts A's spend")
	before := oa.Requests()
	status, answer = call(t, b, "POST", "/api/rag/query", tokenB, map[string]any{"question": "Do herons live near lakes?"})
	require.Equal(t, before, oa.Requests(), "B made no paid call once the budget was spent (status %d: %v)", status, answer)

	// Limits hold across replicas: a key's requests per minute, and failed
	// sign-ins spread over both.
	status, limited := call(t, a, "POST", "/api/keys", tokenA, map[string]any{"name": "limited", "rpm": 2})
	require.Equal(t, http.StatusCreated, status, limited)
	statuses := []int{}
	for _, s := range []*server{a, b, a, b} {
		status, _ := call(t, s, "GET", "/v1/models", limited["key"].(string), nil)
		statuses = append(statuses, status)
	}
	require.Equal(t, []int{200, 200, 429, 429}, statuses, "two a minute in all, not two per replica")
	for i, s := range []*server{a, b, a, b} { // four free failures in all (PENNY_LOGIN_MAX_FAILURES)
		status, _ := call(t, s, "POST", "/api/auth/login", "", map[string]string{"email": "ada@example.com", "password": fmt.Sprint("wrong ", i)})
		require.Equal(t, http.StatusUnauthorized, status)
	}
	status, _ = call(t, b, "POST", "/api/auth/login", "", map[string]string{"email": "ada@example.com", "password": "wrong again"})
	require.Equal(t, http.StatusTooManyRequests, status, "two failures on A and two on B add up to the four free ones")

	// An API key revoked on A is refused by B.
	status, key := call(t, a, "POST", "/api/keys", tokenA, map[string]any{"name": "script"})
	require.Equal(t, http.StatusCreated, status, key)
	status, _ = call(t, b, "GET", "/v1/models", key["key"].(string), nil)
	require.Equal(t, http.StatusOK, status)
	status, _ = call(t, a, "DELETE", "/api/keys/"+key["id"].(string), tokenA, nil)
	require.Equal(t, http.StatusNoContent, status)
	status, _ = call(t, b, "GET", "/v1/models", key["key"].(string), nil)
	require.Equal(t, http.StatusUnauthorized, status, "revoked on A, refused by B")

	// A refresh token spent on A cannot be spent again on B (after the
	// reuse grace) and signing out on A ends it everywhere.
	refresh := login["refreshToken"].(string)
	status, renewed := call(t, a, "POST", "/api/auth/refresh", "", map[string]string{"refreshToken": refresh})
	require.Equal(t, http.StatusOK, status, renewed)
	status, _ = call(t, a, "POST", "/api/auth/logout", "", map[string]string{"refreshToken": renewed["refreshToken"].(string)})
	require.Equal(t, http.StatusNoContent, status)
	status, _ = call(t, b, "POST", "/api/auth/refresh", "", map[string]string{"refreshToken": renewed["refreshToken"].(string)})
	require.Equal(t, http.StatusUnauthorized, status, "signed out on A, refused by B")
	status, _ = call(t, b, "POST", "/api/auth/refresh", "", map[string]string{"refreshToken": refresh})
	require.Equal(t, http.StatusUnauthorized, status, "the family is revoked on both")

	// One ledger: both replicas count the same calls, each once.
	_, ma := call(t, a, "GET", "/api/costs/metrics?groupBy=provider", tokenA, nil)
	_, mb := call(t, b, "GET", "/api/costs/metrics?groupBy=provider", tokenB, nil)
	require.Equal(t, ma["total"], mb["total"])
	calls := ma["total"].(map[string]any)["calls"].(float64)
	require.GreaterOrEqual(t, calls, 5.0, "every question and the ingest were booked")
	var openai float64
	for _, g := range ma["groups"].(map[string]any)["provider"].([]any) {
		if g := g.(map[string]any); g["key"] == "openai" {
			openai = g["calls"].(float64)
		}
	}
	require.Equal(t, float64(oa.Requests()), openai, "every call OpenAI saw is on the ledger once (probes are off)")

	// A provider that fails on A is skipped by B: the breaker that opened
	// on A is held open on B, which makes no doomed call of its own.
	status, _ = call(t, a, "PUT", "/api/admin/budgets", tokenA, map[string]any{"globalMonthlyUsd": 0})
	require.Equal(t, http.StatusOK, status)
	oa.SetScript(providertest.Always(providertest.Fault{Status: 503, Body: `{"error":{"message":"down","type":"server_error"}}`}))
	for i := range 3 { // three failures in a row open a breaker
		call(t, a, "POST", "/api/rag/query", tokenA, map[string]any{"question": fmt.Sprint("Are herons grey? ", i)})
	}
	require.Eventually(t, func() bool {
		_, h := call(t, b, "GET", "/api/health/providers", tokenB, nil)
		for _, p := range h["providers"].([]any) {
			if p := p.(map[string]any); p["provider"] == "openai" && p["kind"] == "chat" && p["breaker"] == "open" {
				return true
			}
		}
		return false
	}, 2*time.Second, 20*time.Millisecond, "B holds the breaker A opened")
	before = oa.Requests()
	call(t, b, "POST", "/api/rag/query", tokenB, map[string]any{"question": "Are herons tall?"})
	require.Equal(t, before, oa.Requests(), "B did not call the provider A saw fail")
	require.False(t, strings.Contains(a.log.String()+b.log.String(), "panic"))
}
