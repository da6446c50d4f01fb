// Package auth is accounts and sessions: registration (first user becomes
// admin, then open / invite / closed), argon2id passwords, 15-minute JWT
// access tokens signed with a persisted keyring, opaque rotating refresh
// tokens stored only as hashes (reuse revokes the family), API keys, and a
// login limiter that makes each guess wait longer.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/penny-dev/penny/app/apperr"
	"github.com/penny-dev/penny/storage"
)

// Store is what auth needs from storage.
type Store interface {
	storage.UserStore
	storage.InviteStore
	storage.RefreshTokenStore
	storage.APIKeyStore
	settingStore
}

// Options configure the Service.
type Options struct {
	// Registration is "open", "invite", "closed" or "" (invite once the
	// first user exists).
	Registration string
	AccessTTL    time.Duration
	RefreshTTL   time.Duration
	Password     PasswordParams
	// LoginFree is how many failed logins per account are free.
	LoginFree int
	// InviteTTL is how long an invite stays valid. Default 7 days.
	InviteTTL time.Duration
	// Failures counts failed sign-ins. Default: in memory; replicas share
	// one in Redis, so a guesser gains nothing by spreading tries.
	Failures Failures
	// ReuseGrace is how long a just-spent refresh token may be presented
	// again without revoking its family (a page reloaded while its refresh
	// was in flight never stored the new token). 0: no grace.
	ReuseGrace time.Duration
	Logger     *slog.Logger
	Now        func() time.Time
}

// Service is the auth capability. Safe for concurrent use.
type Service struct {
	store   Store
	opts    Options
	keys    Keyring
	account *limiter
	ip      *limiter
	dummy   string // a hash to verify against for unknown emails (timing)
}

// New loads (or on first start creates) the signing keys.
func New(ctx context.Context, store Store, opts Options) (*Service, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.InviteTTL == 0 {
		opts.InviteTTL = 7 * 24 * time.Hour
	}
	if opts.Failures == nil {
		opts.Failures = NewMemFailures(30 * time.Minute)
	}
	keys, err := loadKeyring(ctx, store)
	if err != nil {
		return nil, err
	}
	dummy, err := HashPassword("penny-dummy-password", opts.Password)
	if err != nil {
		return nil, err
	}
	return &Service{
		store: store, opts: opts, keys: keys, dummy: dummy,
		account: newLimiter(opts.LoginFree, time.Second, 15*time.Minute, opts.Failures),
		ip:      newLimiter(opts.LoginFree*4, time.Second, 15*time.Minute, opts.Failures),
	}, nil
}

// Principal is who a request acts for.
type Principal struct {
	UserID   string       `json:"id"`
	Email    string       `json:"email"`
	Role     storage.Role `json:"role"`
	Method   string       `json:"-"` // "bearer", "cookie" or "apikey"
	APIKeyID string       `json:"-"`
	// KeyRPM and KeyBudgetMicros are the API key's limits.
	KeyRPM          int   `json:"-"`
	KeyBudgetMicros int64 `json:"-"`
}

// IsAdmin reports whether the principal is an admin.
func (p Principal) IsAdmin() bool { return p.Role == storage.RoleAdmin }

// Session is what a successful login, registration or refresh returns.
type Session struct {
	User             storage.User
	AccessToken      string
	AccessExpiresAt  time.Time
	RefreshToken     string
	RefreshExpiresAt time.Time
}

// Registration returns the registration mode in force.
func (s *Service) Registration() string {
	if s.opts.Registration == "" {
		return "invite"
	}
	return s.opts.Registration
}

// SignUp tells a sign-in page what to offer: the registration mode and
// whether the instance still waits for its first account (who becomes admin
// whatever the mode).
type SignUp struct {
	Registration string `json:"registration"`
	FirstUser    bool   `json:"firstUser"`
}

// SignUpOptions returns the registration mode and whether no account exists yet.
func (s *Service) SignUpOptions(ctx context.Context) (SignUp, error) {
	n, err := s.store.CountUsers(ctx)
	if err != nil {
		return SignUp{}, err
	}
	return SignUp{Registration: s.Registration(), FirstUser: n == 0}, nil
}

func normaliseEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	if len(email) > 254 {
		return "", apperr.Invalid("email is too long")
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return "", apperr.Invalid("email must be a plain address such as ada@example.com")
	}
	return strings.ToLower(email), nil
}

func checkPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < 8 {
		return apperr.Invalid("password must have at least 8 characters")
	}
	if len(pw) > 256 {
		return apperr.Invalid("password must have at most 256 bytes")
	}
	return nil
}

func (s *Service) newUser(email, password string, role storage.Role) (storage.User, error) {
	email, err := normaliseEmail(email)
	if err != nil {
		return storage.User{}, err
	}
	if err := checkPassword(password); err != nil {
		return storage.User{}, err
	}
	hash, err := HashPassword(password, s.opts.Password)
	if err != nil {
		return storage.User{}, err
	}
	return storage.User{ID: storage.NewID(), Email: email, PasswordHash: hash, Role: role, CreatedAt: s.opts.Now().UTC()}, nil
}

var errEmailTaken = apperr.New(http.StatusConflict, "email_taken", "an account with this email already exists")

// Register creates an account and signs it in. The first account becomes
// admin; after that the registration mode decides.
func (s *Service) Register(ctx context.Context, email, password, invite string) (Session, error) {
	u, err := s.newUser(email, password, storage.RoleAdmin)
	if err != nil {
		return Session{}, err
	}
	err = s.store.CreateFirstUser(ctx, u)
	if errors.Is(err, storage.ErrConflict) {
		u.Role = storage.RoleMember
		err = s.registerMember(ctx, u, invite)
	}
	if err != nil {
		return Session{}, err
	}
	s.opts.Logger.Info("user registered", slog.String("user", u.ID), slog.String("role", string(u.Role)))
	return s.newSession(ctx, u, "")
}

func (s *Service) registerMember(ctx context.Context, u storage.User, invite string) error {
	switch s.Registration() {
	case "open":
		if err := s.store.CreateUser(ctx, u); errors.Is(err, storage.ErrConflict) {
			return errEmailTaken
		} else if err != nil {
			return err
		}
		return nil
	case "invite":
		if invite == "" {
			return apperr.New(http.StatusForbidden, "invite_required", "registration needs an invite code from an admin")
		}
		err := s.store.RedeemInvite(ctx, hashSecret(invite), s.opts.Now().UTC(), u)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			return apperr.New(http.StatusForbidden, "invalid_invite", "the invite code is unknown, used or expired")
		case errors.Is(err, storage.ErrConflict):
			return errEmailTaken
		}
		return err
	default:
		return apperr.New(http.StatusForbidden, "registration_closed", "registration is closed; ask an admin to create your account")
	}
}

// Login checks the password and signs in. Each key (account, client IP)
// gets LoginFree failures; after that every try must wait twice as long.
func (s *Service) Login(ctx context.Context, email, password, ip string) (Session, error) {
	now := s.opts.Now()
	acct := "acct:" + strings.ToLower(strings.TrimSpace(email))
	ipKey := "ip:" + ip
	if wait := max(s.account.wait(ctx, acct, now), s.ip.wait(ctx, ipKey, now)); wait > 0 {
		e := apperr.New(http.StatusTooManyRequests, "too_many_attempts", "too many failed sign-ins; try again in %d seconds", int(wait.Seconds()+0.999))
		e.RetryAfter = wait
		return Session{}, e
	}
	u, err := s.store.UserByEmail(ctx, strings.TrimSpace(email))
	hash := u.PasswordHash
	if errors.Is(err, storage.ErrNotFound) {
		hash = s.dummy // same work for unknown emails: no timing oracle
	} else if err != nil {
		return Session{}, err
	}
	ok, verr := VerifyPassword(password, hash)
	if verr != nil {
		return Session{}, verr
	}
	if !ok || err != nil {
		s.account.fail(ctx, acct, now)
		s.ip.fail(ctx, ipKey, now)
		return Session{}, apperr.New(http.StatusUnauthorized, "invalid_credentials", "email or password is wrong")
	}
	s.account.reset(ctx, acct)
	return s.newSession(ctx, u, "")
}

var errRefresh = apperr.New(http.StatusUnauthorized, "invalid_refresh_token", "the session has ended; sign in again")

// Refresh spends a refresh token and returns a new session of the same
// family. Presenting a spent token revokes the whole family: whoever holds
// a stolen copy and the rightful owner are both signed out. The one
// exception is a token spent within ReuseGrace whose family is intact: a
// browser that lost the answer to its refresh (a reload, a dropped
// connection) gets another session instead of being signed out.
func (s *Service) Refresh(ctx context.Context, token string) (Session, error) {
	if token == "" {
		return Session{}, errRefresh
	}
	now := s.opts.Now().UTC()
	t, err := s.store.UseRefreshToken(ctx, hashSecret(token), now)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return Session{}, errRefresh
	case errors.Is(err, storage.ErrConflict):
		if s.withinGrace(t, now) {
			s.opts.Logger.Info("refresh token presented again within the grace period", slog.String("user", t.UserID), slog.String("family", t.FamilyID))
			break
		}
		if t.RevokedAt == nil {
			s.opts.Logger.Warn("refresh token reused; revoking its family", slog.String("user", t.UserID), slog.String("family", t.FamilyID))
		}
		if rerr := s.store.RevokeRefreshFamily(ctx, t.FamilyID, now); rerr != nil {
			return Session{}, rerr
		}
		return Session{}, errRefresh
	case err != nil:
		return Session{}, err
	}
	if !now.Before(t.ExpiresAt) {
		return Session{}, errRefresh
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	if err != nil {
		return Session{}, errRefresh
	}
	return s.newSession(ctx, u, t.FamilyID)
}

func (s *Service) withinGrace(t storage.RefreshToken, now time.Time) bool {
	return s.opts.ReuseGrace > 0 && t.RevokedAt == nil && t.UsedAt != nil && now.Sub(*t.UsedAt) < s.opts.ReuseGrace
}

// Logout revokes the refresh token's whole family: the session ends, and
// no earlier token of it can come back within the reuse grace.
func (s *Service) Logout(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	now := s.opts.Now().UTC()
	t, err := s.store.UseRefreshToken(ctx, hashSecret(token), now)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil
	case err != nil && !errors.Is(err, storage.ErrConflict):
		return err
	}
	return s.store.RevokeRefreshFamily(ctx, t.FamilyID, now)
}

func (s *Service) newSession(ctx context.Context, u storage.User, family string) (Session, error) {
	now := s.opts.Now().UTC()
	access, err := s.keys.sign(u.ID, string(u.Role), now, s.opts.AccessTTL)
	if err != nil {
		return Session{}, fmt.Errorf("auth: sign: %w", err)
	}
	refresh, err := randomSecret(32)
	if err != nil {
		return Session{}, err
	}
	if family == "" {
		family = storage.NewID()
	}
	rt := storage.RefreshToken{ID: storage.NewID(), UserID: u.ID, FamilyID: family, Hash: hashSecret(refresh),
		CreatedAt: now, ExpiresAt: now.Add(s.opts.RefreshTTL)}
	if err := s.store.CreateRefreshToken(ctx, rt); err != nil {
		return Session{}, err
	}
	return Session{User: u, AccessToken: access, AccessExpiresAt: now.Add(s.opts.AccessTTL),
		RefreshToken: refresh, RefreshExpiresAt: rt.ExpiresAt}, nil
}

// AuthenticateToken checks an access token and returns its principal,
// with the role as stored now (a demoted admin loses rights at once).
func (s *Service) AuthenticateToken(ctx context.Context, token string) (Principal, error) {
	c, err := s.keys.verify(token, s.opts.Now())
	if err != nil {
		return Principal{}, apperr.Unauthorized("the access token is invalid or expired")
	}
	u, err := s.store.UserByID(ctx, c.Subject)
	if errors.Is(err, storage.ErrNotFound) {
		return Principal{}, apperr.Unauthorized("the account no longer exists")
	} else if err != nil {
		return Principal{}, err
	}
	return Principal{UserID: u.ID, Email: u.Email, Role: u.Role, Method: "bearer"}, nil
}

// APIKeyPrefix starts every penny API key.
const APIKeyPrefix = "pk-"

// AuthenticateAPIKey checks an API key.
func (s *Service) AuthenticateAPIKey(ctx context.Context, key string) (Principal, error) {
	if !strings.HasPrefix(key, APIKeyPrefix) {
		return Principal{}, apperr.Unauthorized("not a penny API key")
	}
	k, err := s.store.APIKeyByHash(ctx, hashSecret(key))
	if errors.Is(err, storage.ErrNotFound) {
		return Principal{}, apperr.Unauthorized("the API key is invalid or revoked")
	} else if err != nil {
		return Principal{}, err
	}
	u, err := s.store.UserByID(ctx, k.UserID)
	if err != nil {
		return Principal{}, apperr.Unauthorized("the API key's account no longer exists")
	}
	return Principal{UserID: u.ID, Email: u.Email, Role: u.Role, Method: "apikey", APIKeyID: k.ID,
		KeyRPM: k.RPM, KeyBudgetMicros: k.MonthlyBudgetMicros}, nil
}

// KeyLimits are an API key's optional limits.
type KeyLimits struct {
	// RPM caps requests per minute (0: the server default).
	RPM int
	// MonthlyBudgetMicros caps paid spend per month (0: no cap).
	MonthlyBudgetMicros int64
}

// CreateAPIKey makes a key for the principal and returns it with the
// secret, which is shown this once.
func (s *Service) CreateAPIKey(ctx context.Context, p Principal, name string, limits KeyLimits) (storage.APIKey, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return storage.APIKey{}, "", apperr.Invalid("name is required (at most 100 characters)")
	}
	if limits.RPM < 0 || limits.RPM > 1_000_000 || limits.MonthlyBudgetMicros < 0 {
		return storage.APIKey{}, "", apperr.Invalid("rpm and monthlyBudgetUsd must be zero or positive")
	}
	secret, err := randomSecret(24)
	if err != nil {
		return storage.APIKey{}, "", err
	}
	key := APIKeyPrefix + secret
	k := storage.APIKey{ID: storage.NewID(), UserID: p.UserID, Name: name, Prefix: key[:len(APIKeyPrefix)+8],
		Hash: hashSecret(key), CreatedAt: s.opts.Now().UTC(), RPM: limits.RPM, MonthlyBudgetMicros: limits.MonthlyBudgetMicros}
	if err := s.store.CreateAPIKey(ctx, k); err != nil {
		return storage.APIKey{}, "", err
	}
	return k, key, nil
}

// ListAPIKeys returns the principal's keys (no secrets).
func (s *Service) ListAPIKeys(ctx context.Context, p Principal) ([]storage.APIKey, error) {
	return s.store.ListAPIKeys(ctx, p.UserID)
}

// DeleteAPIKey revokes one of the principal's keys.
func (s *Service) DeleteAPIKey(ctx context.Context, p Principal, id string) error {
	if err := s.store.DeleteAPIKey(ctx, p.UserID, id); errors.Is(err, storage.ErrNotFound) {
		return apperr.NotFound("API key")
	} else if err != nil {
		return err
	}
	return nil
}

// CreateInvite returns a single-use invite code (admins only).
func (s *Service) CreateInvite(ctx context.Context, p Principal, role storage.Role) (string, time.Time, error) {
	if !p.IsAdmin() {
		return "", time.Time{}, apperr.Forbidden("only admins can invite")
	}
	if role == "" {
		role = storage.RoleMember
	}
	if role != storage.RoleMember && role != storage.RoleAdmin {
		return "", time.Time{}, apperr.Invalid("role must be admin or member")
	}
	code, err := randomSecret(18)
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.opts.Now().UTC()
	inv := storage.Invite{CodeHash: hashSecret(code), Role: role, CreatedBy: p.UserID, CreatedAt: now, ExpiresAt: now.Add(s.opts.InviteTTL)}
	if err := s.store.CreateInvite(ctx, inv); err != nil {
		return "", time.Time{}, err
	}
	return code, inv.ExpiresAt, nil
}

// CreateUser makes an account directly (admins, and `penny user create`).
func (s *Service) CreateUser(ctx context.Context, email, password string, role storage.Role) (storage.User, error) {
	if role != storage.RoleMember && role != storage.RoleAdmin {
		return storage.User{}, apperr.Invalid("role must be admin or member")
	}
	u, err := s.newUser(email, password, role)
	if err != nil {
		return storage.User{}, err
	}
	if err := s.store.CreateUser(ctx, u); errors.Is(err, storage.ErrConflict) {
		return storage.User{}, errEmailTaken
	} else if err != nil {
		return storage.User{}, err
	}
	return u, nil
}

// ListUsers returns every account (admins only).
func (s *Service) ListUsers(ctx context.Context, p Principal) ([]storage.User, error) {
	if !p.IsAdmin() {
		return nil, apperr.Forbidden("only admins can list users")
	}
	return s.store.ListUsers(ctx)
}

func randomSecret(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("auth: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// hashSecret is how refresh tokens, API keys and invite codes are stored:
// they are high-entropy random strings, so an unsalted SHA-256 is enough
// to make a stolen database useless for signing in.
func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
