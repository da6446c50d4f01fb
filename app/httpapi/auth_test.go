package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/apptest"
)

// browser is a client with a cookie jar, as a browser would be.
type browser struct {
	t  *testing.T
	ta *apptest.TestApp
	c  *http.Client
}

func newBrowser(t *testing.T, ta *apptest.TestApp) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{t: t, ta: ta, c: &http.Client{Jar: jar}}
}

func (b *browser) do(method, path, body string, withCSRF bool) (int, map[string]any) {
	b.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, b.ta.URL+path, rd)
	require.NoError(b.t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if withCSRF {
		u, _ := url.Parse(b.ta.URL)
		for _, ck := range b.c.Jar.Cookies(u) {
			if ck.Name == "penny_csrf" {
				req.Header.Set("X-CSRF-Token", ck.Value)
			}
		}
	}
	resp, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m
}

func TestCookieSessionAndCSRF(t *testing.T) {
	ta := apptest.New(t, nil)
	b := newBrowser(t, ta)
	status, body := b.do("POST", "/api/auth/register", `{"email":"ada@example.com","password":"correct horse battery"}`, false)
	require.Equal(t, http.StatusCreated, status)
	require.NotEmpty(t, body["accessToken"])
	require.NotEmpty(t, body["csrfToken"])

	u, _ := url.Parse(ta.URL)
	names := map[string]bool{}
	for _, ck := range b.c.Jar.Cookies(u) {
		names[ck.Name] = true
	}
	require.True(t, names["penny_access"] && names["penny_csrf"], "session cookies are set")

	// Safe methods work with the cookie alone.
	status, body = b.do("GET", "/api/auth/me", "", false)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "ada@example.com", body["email"])
	require.Equal(t, "admin", body["role"])

	// Unsafe methods need the CSRF header.
	status, body = b.do("POST", "/api/chats", `{"title":"x"}`, false)
	require.Equal(t, http.StatusForbidden, status)
	require.Equal(t, "csrf_failed", body["error"].(map[string]any)["code"])
	status, _ = b.do("POST", "/api/chats", `{"title":"x"}`, true)
	require.Equal(t, http.StatusCreated, status)

	// A stale cookie never blocks signing in again.
	status, _ = b.do("POST", "/api/auth/login", `{"email":"ada@example.com","password":"correct horse battery"}`, false)
	require.Equal(t, http.StatusOK, status)

	// Refresh from the cookie needs CSRF; the new refresh token stays in the cookie.
	status, _ = b.do("POST", "/api/auth/refresh", "", false)
	require.Equal(t, http.StatusForbidden, status)
	status, body = b.do("POST", "/api/auth/refresh", "", true)
	require.Equal(t, http.StatusOK, status)
	require.NotEmpty(t, body["accessToken"])
	require.Nil(t, body["refreshToken"], "a cookie session's refresh token is not exposed to scripts")

	// Logout clears the session.
	status, _ = b.do("POST", "/api/auth/logout", "", true)
	require.Equal(t, http.StatusNoContent, status)
	status, _ = b.do("GET", "/api/auth/me", "", false)
	require.Equal(t, http.StatusUnauthorized, status)
}

func TestBearerRefreshReuseRevokesFamily(t *testing.T) {
	ta := apptest.New(t, map[string]string{"PENNY_REFRESH_REUSE_GRACE": "0s"})
	ada := ta.Register("ada@example.com")
	r := ta.Do("POST", "/api/auth/refresh", "", map[string]string{"refreshToken": ada.Refresh})
	require.Equal(t, http.StatusOK, r.Status)
	next := r.JSON(t)["refreshToken"].(string)
	require.NotEmpty(t, next)

	r = ta.Do("POST", "/api/auth/refresh", "", map[string]string{"refreshToken": ada.Refresh})
	require.Equal(t, http.StatusUnauthorized, r.Status, "reuse is refused")
	require.Equal(t, "invalid_refresh_token", r.ErrorCode(t))
	r = ta.Do("POST", "/api/auth/refresh", "", map[string]string{"refreshToken": next})
	require.Equal(t, http.StatusUnauthorized, r.Status, "and the family is revoked")
	r = ta.Do("POST", "/api/auth/refresh", "", nil)
	require.Equal(t, http.StatusUnauthorized, r.Status)
}

func TestAuthorizationHeader(t *testing.T) {
	ta := apptest.New(t, nil)
	ada := ta.Register("ada@example.com")
	for name, hdr := range map[string]string{
		"not bearer": "Basic YWRhOnB3", "garbage token": "Bearer abc", "alg none": "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4IiwiaXNzIjoicGVubnkifQ.",
		"unknown api key": "Bearer pk-nothing",
	} {
		r := ta.Do("GET", "/api/auth/me", "", nil, "Authorization", hdr)
		require.Equal(t, http.StatusUnauthorized, r.Status, name)
		require.Equal(t, "unauthorized", r.ErrorCode(t), name)
	}
	// An API key works like a token and can be revoked.
	r := ta.Do("POST", "/api/keys", ada.Token, map[string]string{"name": "script"})
	require.Equal(t, http.StatusCreated, r.Status)
	key := r.JSON(t)
	secret, id := key["key"].(string), key["id"].(string)
	require.True(t, strings.HasPrefix(secret, "pk-"))
	r = ta.Do("GET", "/api/auth/me", secret, nil)
	require.Equal(t, http.StatusOK, r.Status)
	r = ta.Do("GET", "/api/keys", ada.Token, nil)
	require.NotContains(t, string(r.Body), secret, "the key is shown once")
	require.Contains(t, string(r.Body), key["prefix"].(string))
	require.Equal(t, http.StatusNoContent, ta.Do("DELETE", "/api/keys/"+id, ada.Token, nil).Status)
	require.Equal(t, http.StatusUnauthorized, ta.Do("GET", "/api/auth/me", secret, nil).Status, "a revoked key is refused")
}

func TestLoginRateLimitedWithRetryAfter(t *testing.T) {
	ta := apptest.New(t, map[string]string{"PENNY_LOGIN_MAX_FAILURES": "2"})
	ta.Register("ada@example.com")
	bad := map[string]string{"email": "ada@example.com", "password": "wrong password"}
	for range 2 {
		r := ta.Do("POST", "/api/auth/login", "", bad)
		require.Equal(t, http.StatusUnauthorized, r.Status)
		require.Equal(t, "invalid_credentials", r.ErrorCode(t))
	}
	r := ta.Do("POST", "/api/auth/login", "", bad)
	require.Equal(t, http.StatusTooManyRequests, r.Status)
	require.Equal(t, "too_many_attempts", r.ErrorCode(t))
	require.Equal(t, "1", r.Header.Get("Retry-After"))
}

func TestRegistrationByInvite(t *testing.T) {
	ta := apptest.New(t, nil)
	admin := ta.Register("admin@example.com")
	r := ta.Do("POST", "/api/auth/register", "", map[string]string{"email": "bob@example.com", "password": "correct horse"})
	require.Equal(t, http.StatusForbidden, r.Status)
	require.Equal(t, "invite_required", r.ErrorCode(t))
	inv := ta.Do("POST", "/api/admin/invites", admin.Token, nil)
	require.Equal(t, http.StatusCreated, inv.Status)
	code := inv.JSON(t)["invite"].(string)
	r = ta.Do("POST", "/api/auth/register", "", map[string]string{"email": "bob@example.com", "password": "correct horse", "invite": code})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	require.Equal(t, "member", r.JSON(t)["user"].(map[string]any)["role"])
}

func TestHealthUIAndHeaders(t *testing.T) {
	ta := apptest.New(t, nil)
	r := ta.Do("GET", "/healthz", "", nil)
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, "ok", r.JSON(t)["status"])
	r = ta.Do("GET", "/readyz", "", nil)
	require.Equal(t, http.StatusOK, r.Status)

	r = ta.Do("GET", "/", "", nil)
	require.Equal(t, http.StatusOK, r.Status)
	require.Contains(t, string(r.Body), "<title>penny</title>")
	require.Equal(t, "nosniff", r.Header.Get("X-Content-Type-Options"))
	require.Contains(t, r.Header.Get("Content-Security-Policy"), "default-src 'self'")
	require.Equal(t, "DENY", r.Header.Get("X-Frame-Options"))
	require.NotEmpty(t, r.Header.Get("X-Request-Id"))

	r = ta.Do("GET", "/chats/some/client/route", "", nil)
	require.Equal(t, http.StatusOK, r.Status, "client-side routes get the UI")
	require.Contains(t, string(r.Body), "<title>penny</title>")
	css := regexp.MustCompile(`/assets/[\w-]+\.css`).FindString(string(r.Body))
	require.NotEmpty(t, css, "index.html links the built stylesheet")
	r = ta.Do("GET", css, "", nil)
	require.Equal(t, http.StatusOK, r.Status)
	require.Contains(t, r.Header.Get("Content-Type"), "text/css")
}

// X-Forwarded-For is believed only from PENNY_TRUSTED_PROXIES: a client
// that makes up a new address for every guess still meets the sign-in
// limit of its own address (echo before 4.16.4 believed it by default:
// GO-2026-6872).
func TestForwardedForCannotDodgeTheSignInLimit(t *testing.T) {
	guess := func(ta *apptest.TestApp, i int) int {
		return ta.Do("POST", "/api/auth/login", "", map[string]string{"email": fmt.Sprintf("u%d@example.com", i), "password": "wrong password"},
			"X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i), "X-Real-Ip", fmt.Sprintf("198.51.100.%d", i)).Status
	}
	direct := apptest.New(t, map[string]string{"PENNY_LOGIN_MAX_FAILURES": "2"})
	limited := 0
	for i := range 20 {
		if guess(direct, i) == http.StatusTooManyRequests {
			limited++
		}
	}
	require.Positive(t, limited, "made-up addresses are ignored: one client, one limit")

	proxied := apptest.New(t, map[string]string{"PENNY_LOGIN_MAX_FAILURES": "2", "PENNY_TRUSTED_PROXIES": "127.0.0.0/8,::1/128"})
	for i := range 20 {
		require.Equal(t, http.StatusUnauthorized, guess(proxied, i), "behind a trusted proxy each forwarded address is its own client")
	}
}
