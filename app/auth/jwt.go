package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// keyringSetting is where the signing keys are persisted.
const keyringSetting = "auth.jwt_keys"

// Keyring holds the HMAC keys that sign access tokens. Current signs new
// tokens; every key in Keys verifies tokens that name it in their kid
// header, so a rotated-out key keeps working until its tokens expire.
type Keyring struct {
	Current string            `json:"current"`
	Keys    map[string][]byte `json:"keys"`
}

func newKeyring() (Keyring, error) {
	kid := make([]byte, 6)
	secret := make([]byte, 32)
	if _, err := rand.Read(kid); err != nil {
		return Keyring{}, err
	}
	if _, err := rand.Read(secret); err != nil {
		return Keyring{}, err
	}
	id := hex.EncodeToString(kid)
	return Keyring{Current: id, Keys: map[string][]byte{id: secret}}, nil
}

// settingStore is the part of the store the keyring needs.
type settingStore interface {
	PutSettingIfAbsent(ctx context.Context, key string, value []byte) ([]byte, error)
}

// loadKeyring returns the persisted keyring, generating it on first start.
func loadKeyring(ctx context.Context, s settingStore) (Keyring, error) {
	fresh, err := newKeyring()
	if err != nil {
		return Keyring{}, fmt.Errorf("auth: generate signing key: %w", err)
	}
	raw, err := json.Marshal(fresh)
	if err != nil {
		return Keyring{}, err
	}
	raw, err = s.PutSettingIfAbsent(ctx, keyringSetting, raw)
	if err != nil {
		return Keyring{}, fmt.Errorf("auth: store signing key: %w", err)
	}
	var k Keyring
	if err := json.Unmarshal(raw, &k); err != nil || k.Keys[k.Current] == nil {
		return Keyring{}, fmt.Errorf("auth: stored signing keys are unreadable")
	}
	return k, nil
}

// Claims are the access token's claims.
type Claims struct {
	Role string `json:"role"`
	jwt.RegisteredClaims
}

const issuer = "penny"

func (k Keyring) sign(userID, role string, now time.Time, ttl time.Duration) (string, error) {
	c := Claims{Role: role, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: issuer, Subject: userID,
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	t.Header["kid"] = k.Current
	return t.SignedString(k.Keys[k.Current])
}

// ErrBadToken is any access token that is not valid now.
var ErrBadToken = errors.New("auth: invalid or expired token")

// verify checks signature (HS256 only: "none" and every other algorithm
// are refused), kid, issuer, expiry and not-before.
func (k Keyring) verify(token string, now time.Time) (Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		key, ok := k.Keys[kid]
		if !ok {
			return nil, fmt.Errorf("unknown kid %q", kid)
		}
		return key, nil
	}, jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil || c.Subject == "" {
		return Claims{}, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	return c, nil
}
