package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/apperr"
	"github.com/penny-dev/penny/storage"
	"github.com/penny-dev/penny/storage/bolt"
)

var fastHash = PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newService(t *testing.T, reg string) (*Service, *clock, *bolt.Store) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "p.db"), bolt.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	clk := &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	s, err := New(context.Background(), st, Options{Registration: reg, AccessTTL: 15 * time.Minute, RefreshTTL: time.Hour,
		Password: fastHash, LoginFree: 3, ReuseGrace: 10 * time.Second, Now: clk.Now})
	require.NoError(t, err)
	return s, clk, st
}

func code(t *testing.T, err error) string {
	t.Helper()
	e, ok := apperr.As(err)
	require.True(t, ok, "want an apperr, got %v", err)
	return e.Code
}

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse", fastHash)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$"))
	ok, err := VerifyPassword("correct horse", h)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = VerifyPassword("wrong horse", h)
	require.NoError(t, err)
	require.False(t, ok)
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=x$AA$AA", "$argon2id$v=19$m=1,t=1,p=1$!!$AA"} {
		_, err := VerifyPassword("x", bad)
		require.Error(t, err, bad)
	}
}

func TestFirstUserIsAdminThenInviteByDefault(t *testing.T) {
	s, _, _ := newService(t, "")
	ctx := context.Background()
	sess, err := s.Register(ctx, "Ada@Example.com", "correct horse", "")
	require.NoError(t, err)
	require.Equal(t, storage.RoleAdmin, sess.User.Role)
	require.Equal(t, "ada@example.com", sess.User.Email)

	_, err = s.Register(ctx, "bob@example.com", "correct horse", "")
	require.Equal(t, "invite_required", code(t, err))
	_, err = s.Register(ctx, "bob@example.com", "correct horse", "made-up")
	require.Equal(t, "invalid_invite", code(t, err))

	admin := Principal{UserID: sess.User.ID, Role: storage.RoleAdmin}
	inv, _, err := s.CreateInvite(ctx, admin, "")
	require.NoError(t, err)
	bob, err := s.Register(ctx, "bob@example.com", "correct horse", inv)
	require.NoError(t, err)
	require.Equal(t, storage.RoleMember, bob.User.Role)
	_, err = s.Register(ctx, "carol@example.com", "correct horse", inv)
	require.Equal(t, "invalid_invite", code(t, err), "an invite is single-use")

	_, _, err = s.CreateInvite(ctx, Principal{UserID: bob.User.ID, Role: storage.RoleMember}, "")
	require.Equal(t, "forbidden", code(t, err))
}

func TestRegistrationModes(t *testing.T) {
	ctx := context.Background()
	open, _, _ := newService(t, "open")
	_, err := open.Register(ctx, "a@example.com", "correct horse", "")
	require.NoError(t, err)
	_, err = open.Register(ctx, "b@example.com", "correct horse", "")
	require.NoError(t, err)
	_, err = open.Register(ctx, "B@example.com", "correct horse", "")
	require.Equal(t, "email_taken", code(t, err))

	closed, _, _ := newService(t, "closed")
	_, err = closed.Register(ctx, "a@example.com", "correct horse", "")
	require.NoError(t, err, "the first user may always register")
	_, err = closed.Register(ctx, "b@example.com", "correct horse", "")
	require.Equal(t, "registration_closed", code(t, err))
}

func TestRegisterValidates(t *testing.T) {
	s, _, _ := newService(t, "open")
	ctx := context.Background()
	for _, tc := range []struct{ email, pw string }{
		{"", "correct horse"}, {"not-an-email", "correct horse"}, {"Ada <ada@example.com>", "correct horse"},
		{"ada@example.com", "short"}, {"ada@example.com", strings.Repeat("x", 300)},
		{strings.Repeat("a", 250) + "@example.com", "correct horse"},
	} {
		_, err := s.Register(ctx, tc.email, tc.pw, "")
		require.Equal(t, "invalid_request", code(t, err), "%q", tc.email)
	}
}

func TestTokensRefused(t *testing.T) {
	s, clk, _ := newService(t, "")
	ctx := context.Background()
	sess, err := s.Register(ctx, "ada@example.com", "correct horse", "")
	require.NoError(t, err)
	p, err := s.AuthenticateToken(ctx, sess.AccessToken)
	require.NoError(t, err)
	require.Equal(t, sess.User.ID, p.UserID)

	parts := strings.Split(sess.AccessToken, ".")
	claims := jwt.MapClaims{"sub": sess.User.ID, "role": "admin", "iss": "penny", "exp": clk.Now().Add(time.Hour).Unix(), "iat": clk.Now().Unix()}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)
	wrongKey := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	wrongKey.Header["kid"] = s.keys.Current
	wrongKeyTok, err := wrongKey.SignedString([]byte("not the key at all, 32 bytes....."))
	require.NoError(t, err)
	unknownKid := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	unknownKid.Header["kid"] = "nope"
	unknownKidTok, err := unknownKid.SignedString(s.keys.Keys[s.keys.Current])
	require.NoError(t, err)
	hs512 := jwt.NewWithClaims(jwt.SigningMethodHS512, claims)
	hs512.Header["kid"] = s.keys.Current
	hs512Tok, err := hs512.SignedString(s.keys.Keys[s.keys.Current])
	require.NoError(t, err)
	future := jwt.MapClaims{"sub": sess.User.ID, "iss": "penny", "exp": clk.Now().Add(2 * time.Hour).Unix(), "nbf": clk.Now().Add(time.Hour).Unix()}
	nbf := jwt.NewWithClaims(jwt.SigningMethodHS256, future)
	nbf.Header["kid"] = s.keys.Current
	nbfTok, err := nbf.SignedString(s.keys.Keys[s.keys.Current])
	require.NoError(t, err)
	// HS/RS confusion: an RS256 token signed with the attacker's own key,
	// once plainly and once carrying that key as a jwk header (servers
	// that trust embedded keys accept it).
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	rs := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	rs.Header["kid"] = s.keys.Current
	rsTok, err := rs.SignedString(rsaKey)
	require.NoError(t, err)
	rsJWK := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	rsJWK.Header["kid"] = s.keys.Current
	rsJWK.Header["jwk"] = map[string]string{"kty": "RSA", "e": "AQAB", "n": base64.RawURLEncoding.EncodeToString(rsaKey.N.Bytes())}
	rsJWKTok, err := rsJWK.SignedString(rsaKey)
	require.NoError(t, err)
	// Tamper: change the payload, keep the signature.
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"admin"`, `"member"`, 1))) + "." + parts[2]

	for name, tok := range map[string]string{
		"alg none": none, "wrong key": wrongKeyTok, "unknown kid": unknownKidTok, "other HMAC alg": hs512Tok,
		"not yet valid": nbfTok, "RS256, attacker's key": rsTok, "RS256, key in a jwk header": rsJWKTok, "tampered": tampered, "garbage": "abc.def.ghi", "empty": "",
	} {
		_, err := s.AuthenticateToken(ctx, tok)
		require.Equal(t, "unauthorized", code(t, err), name)
	}

	clk.Add(16 * time.Minute)
	_, err = s.AuthenticateToken(ctx, sess.AccessToken)
	require.Equal(t, "unauthorized", code(t, err), "expired")
}

func TestRefreshRotatesAndReuseRevokesFamily(t *testing.T) {
	s, clk, _ := newService(t, "")
	ctx := context.Background()
	first, err := s.Register(ctx, "ada@example.com", "correct horse", "")
	require.NoError(t, err)

	second, err := s.Refresh(ctx, first.RefreshToken)
	require.NoError(t, err)
	require.NotEqual(t, first.RefreshToken, second.RefreshToken)

	// A browser that lost the answer presents the spent token again at
	// once: it gets another session, and the family lives on.
	again, err := s.Refresh(ctx, first.RefreshToken)
	require.NoError(t, err, "within the reuse grace")
	second, err = s.Refresh(ctx, again.RefreshToken)
	require.NoError(t, err)

	// An attacker replays the first token later: refused, and the family dies.
	clk.Add(11 * time.Second)
	_, err = s.Refresh(ctx, first.RefreshToken)
	require.Equal(t, "invalid_refresh_token", code(t, err))
	_, err = s.Refresh(ctx, second.RefreshToken)
	require.Equal(t, "invalid_refresh_token", code(t, err), "the rightful holder is signed out too")

	// Another login is another family, untouched.
	other, err := s.Login(ctx, "ada@example.com", "correct horse", "1.2.3.4")
	require.NoError(t, err)
	_, err = s.Refresh(ctx, other.RefreshToken)
	require.NoError(t, err)

	// Expiry.
	third, err := s.Login(ctx, "ada@example.com", "correct horse", "1.2.3.4")
	require.NoError(t, err)
	clk.Add(2 * time.Hour)
	_, err = s.Refresh(ctx, third.RefreshToken)
	require.Equal(t, "invalid_refresh_token", code(t, err))

	// Logout revokes.
	fourth, err := s.Login(ctx, "ada@example.com", "correct horse", "1.2.3.4")
	require.NoError(t, err)
	fifth, err := s.Refresh(ctx, fourth.RefreshToken)
	require.NoError(t, err)
	require.NoError(t, s.Logout(ctx, fifth.RefreshToken))
	_, err = s.Refresh(ctx, fifth.RefreshToken)
	require.Equal(t, "invalid_refresh_token", code(t, err))
	_, err = s.Refresh(ctx, fourth.RefreshToken)
	require.Equal(t, "invalid_refresh_token", code(t, err), "logout ends the family: no grace for an earlier token")
	_, err = s.Refresh(ctx, "")
	require.Equal(t, "invalid_refresh_token", code(t, err))
}

func TestLoginLimiterGrowingDelay(t *testing.T) {
	s, clk, _ := newService(t, "")
	ctx := context.Background()
	_, err := s.Register(ctx, "ada@example.com", "correct horse", "")
	require.NoError(t, err)

	for range 3 {
		_, err = s.Login(ctx, "ada@example.com", "wrong", "1.1.1.1")
		require.Equal(t, "invalid_credentials", code(t, err))
	}
	// Past the free failures: the next try must wait 1s, then 2s, ...
	_, err = s.Login(ctx, "ada@example.com", "correct horse", "2.2.2.2")
	e, _ := apperr.As(err)
	require.Equal(t, http.StatusTooManyRequests, e.Status, "even the right password waits: no oracle")
	require.Equal(t, time.Second, e.RetryAfter)

	clk.Add(time.Second)
	_, err = s.Login(ctx, "ada@example.com", "wrong", "1.1.1.1")
	require.Equal(t, "invalid_credentials", code(t, err))
	_, err = s.Login(ctx, "ada@example.com", "wrong", "1.1.1.1")
	e, _ = apperr.As(err)
	require.Equal(t, 2*time.Second, e.RetryAfter, "the wait doubles")

	clk.Add(2 * time.Second)
	_, err = s.Login(ctx, "ADA@example.com", "correct horse", "3.3.3.3")
	require.NoError(t, err)
	_, err = s.Login(ctx, "ada@example.com", "wrong", "3.3.3.3")
	require.Equal(t, "invalid_credentials", code(t, err), "success resets the account")

	// Unknown accounts fail the same way.
	_, err = s.Login(ctx, "nobody@example.com", "whatever1", "4.4.4.4")
	require.Equal(t, "invalid_credentials", code(t, err))
}

func TestAPIKeys(t *testing.T) {
	s, _, _ := newService(t, "open")
	ctx := context.Background()
	a, err := s.Register(ctx, "a@example.com", "correct horse", "")
	require.NoError(t, err)
	b, err := s.Register(ctx, "b@example.com", "correct horse", "")
	require.NoError(t, err)
	pa := Principal{UserID: a.User.ID, Role: a.User.Role}
	pb := Principal{UserID: b.User.ID, Role: b.User.Role}

	k, secret, err := s.CreateAPIKey(ctx, pa, "ci", KeyLimits{RPM: 5, MonthlyBudgetMicros: 1000})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(secret, "pk-"))
	require.True(t, strings.HasPrefix(secret, k.Prefix))
	require.NotContains(t, k.Hash, secret)

	p, err := s.AuthenticateAPIKey(ctx, secret)
	require.NoError(t, err)
	require.Equal(t, a.User.ID, p.UserID)
	require.Equal(t, k.ID, p.APIKeyID)
	require.Equal(t, 5, p.KeyRPM)
	require.Equal(t, int64(1000), p.KeyBudgetMicros)
	_, _, err = s.CreateAPIKey(ctx, pa, "x", KeyLimits{RPM: -1})
	require.Equal(t, "invalid_request", code(t, err))

	_, _, err = s.CreateAPIKey(ctx, pa, "  ", KeyLimits{})
	require.Equal(t, "invalid_request", code(t, err))
	require.Equal(t, "not_found", code(t, s.DeleteAPIKey(ctx, pb, k.ID)))
	require.NoError(t, s.DeleteAPIKey(ctx, pa, k.ID))
	_, err = s.AuthenticateAPIKey(ctx, secret)
	require.Equal(t, "unauthorized", code(t, err))
	_, err = s.AuthenticateAPIKey(ctx, "sk-not-ours")
	require.Equal(t, "unauthorized", code(t, err))
}

func TestKeyringPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	st, err := bolt.Open(path, bolt.Options{})
	require.NoError(t, err)
	opts := Options{AccessTTL: time.Minute, RefreshTTL: time.Hour, Password: fastHash, LoginFree: 3}
	s1, err := New(context.Background(), st, opts)
	require.NoError(t, err)
	sess, err := s1.Register(context.Background(), "a@example.com", "correct horse", "")
	require.NoError(t, err)
	require.NoError(t, st.Close())

	st, err = bolt.Open(path, bolt.Options{})
	require.NoError(t, err)
	defer st.Close()
	s2, err := New(context.Background(), st, opts)
	require.NoError(t, err)
	_, err = s2.AuthenticateToken(context.Background(), sess.AccessToken)
	require.NoError(t, err, "tokens survive a restart")
}
