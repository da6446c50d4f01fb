package httpapi

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/penny-dev/penny/app/apperr"
	"github.com/penny-dev/penny/app/auth"
	"github.com/penny-dev/penny/storage"
)

// Cookie and header names.
const (
	cookieAccess  = "penny_access"
	cookieRefresh = "penny_refresh"
	cookieCSRF    = "penny_csrf"
	headerCSRF    = "X-CSRF-Token"
	refreshPath   = "/api/auth"
	principalKey  = "penny.principal"
	csrfFailedKey = "penny.csrf_failed"
)

func principalOf(c echo.Context) (auth.Principal, bool) {
	p, ok := c.Get(principalKey).(auth.Principal)
	return p, ok
}

// authenticate finds the caller: an Authorization header (a JWT access
// token or a pk- API key) or, failing that, the access cookie. A header
// that is present but wrong is refused at once; a bad cookie is ignored
// (the route decides whether it needs a caller). Cookie-authenticated
// unsafe methods must carry the CSRF token (double submit); without it the
// cookie does not count, and routes that need a caller say why.
func (h *handler) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().URL.Path == "/metrics" {
			return next(c) // its own token, not a user's
		}
		ctx := c.Request().Context()
		if hdr := c.Request().Header.Get(echo.HeaderAuthorization); hdr != "" {
			token, ok := strings.CutPrefix(hdr, "Bearer ")
			if !ok {
				return apperr.Unauthorized("the Authorization header must be \"Bearer <token>\"")
			}
			var p auth.Principal
			var err error
			if strings.HasPrefix(token, auth.APIKeyPrefix) {
				p, err = h.app.Auth.AuthenticateAPIKey(ctx, token)
			} else {
				p, err = h.app.Auth.AuthenticateToken(ctx, token)
			}
			if err != nil {
				return err
			}
			c.Set(principalKey, p)
			return next(c)
		}
		if ck, err := c.Cookie(cookieAccess); err == nil && ck.Value != "" {
			if p, err := h.app.Auth.AuthenticateToken(ctx, ck.Value); err == nil {
				p.Method = "cookie"
				if unsafeMethod(c.Request().Method) && checkCSRF(c) != nil {
					c.Set(csrfFailedKey, true)
					return next(c)
				}
				c.Set(principalKey, p)
			}
		}
		return next(c)
	}
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// checkCSRF compares the X-CSRF-Token header with the penny_csrf cookie.
func checkCSRF(c echo.Context) error {
	ck, err := c.Cookie(cookieCSRF)
	hdr := c.Request().Header.Get(headerCSRF)
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(hdr)) != 1 {
		return apperr.New(http.StatusForbidden, "csrf_failed", "cookie-authenticated requests must send the penny_csrf cookie value in the X-CSRF-Token header")
	}
	return nil
}

// requireAuth refuses anonymous callers.
func requireAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := principalOf(c); !ok {
			if failed, _ := c.Get(csrfFailedKey).(bool); failed {
				return checkCSRF(c)
			}
			return apperr.Unauthorized("sign in first: send a Bearer token, an API key or the session cookie")
		}
		return next(c)
	}
}

// requireAdmin refuses everyone but admins.
func requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return requireAuth(func(c echo.Context) error {
		if p, _ := principalOf(c); !p.IsAdmin() {
			return apperr.Forbidden("this needs an admin")
		}
		return next(c)
	})
}

func me(c echo.Context) auth.Principal {
	p, _ := principalOf(c)
	return p
}

type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Invite   string `json:"invite,omitempty"`
}

type userJSON struct {
	ID        string       `json:"id"`
	Email     string       `json:"email"`
	Role      storage.Role `json:"role"`
	CreatedAt time.Time    `json:"createdAt"`
}

func userOut(u storage.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Role: u.Role, CreatedAt: u.CreatedAt}
}

type sessionJSON struct {
	User         userJSON  `json:"user"`
	AccessToken  string    `json:"accessToken"`
	ExpiresAt    time.Time `json:"expiresAt"`
	RefreshToken string    `json:"refreshToken,omitempty"`
	CSRFToken    string    `json:"csrfToken"`
}

func bindAuthAPI(g *echo.Group, h *handler) {
	g.GET("/auth/options", h.signUpOptions)
	g.POST("/auth/register", h.register)
	g.POST("/auth/login", h.login)
	g.POST("/auth/refresh", h.refresh)
	g.POST("/auth/logout", h.logout)
	g.GET("/auth/me", h.me, requireAuth)
}

func (h *handler) register(c echo.Context) error {
	var in credentials
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	s, err := h.app.Auth.Register(c.Request().Context(), in.Email, in.Password, in.Invite)
	if err != nil {
		return err
	}
	return h.startSession(c, http.StatusCreated, s, true)
}

func (h *handler) login(c echo.Context) error {
	var in credentials
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	s, err := h.app.Auth.Login(c.Request().Context(), in.Email, in.Password, c.RealIP())
	if err != nil {
		return err
	}
	return h.startSession(c, http.StatusOK, s, true)
}

// refresh takes the refresh token from the JSON body (programs) or from
// the cookie (browsers, which must then pass the CSRF check). The new
// refresh token goes back the way the old one came.
func (h *handler) refresh(c echo.Context) error {
	var in struct {
		RefreshToken string `json:"refreshToken"`
	}
	if c.Request().ContentLength != 0 {
		if err := bindJSON(c, &in); err != nil {
			return err
		}
	}
	fromBody := in.RefreshToken != ""
	if !fromBody {
		ck, err := c.Cookie(cookieRefresh)
		if err != nil || ck.Value == "" {
			return apperr.Unauthorized("no refresh token: send {\"refreshToken\"} or the session cookie")
		}
		if err := checkCSRF(c); err != nil {
			return err
		}
		in.RefreshToken = ck.Value
	}
	s, err := h.app.Auth.Refresh(c.Request().Context(), in.RefreshToken)
	if err != nil {
		clearCookies(c)
		return err
	}
	return h.startSession(c, http.StatusOK, s, fromBody)
}

func (h *handler) logout(c echo.Context) error {
	var in struct {
		RefreshToken string `json:"refreshToken"`
	}
	if c.Request().ContentLength != 0 {
		if err := bindJSON(c, &in); err != nil {
			return err
		}
	}
	if in.RefreshToken == "" {
		if ck, err := c.Cookie(cookieRefresh); err == nil {
			if err := checkCSRF(c); err != nil {
				return err
			}
			in.RefreshToken = ck.Value
		}
	}
	if err := h.app.Auth.Logout(c.Request().Context(), in.RefreshToken); err != nil {
		return err
	}
	clearCookies(c)
	return c.NoContent(http.StatusNoContent)
}

// signUpOptions is public: the sign-in page asks it which forms to show.
func (h *handler) signUpOptions(c echo.Context) error {
	o, err := h.app.Auth.SignUpOptions(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, o)
}

func (h *handler) me(c echo.Context) error {
	p := me(c)
	return c.JSON(http.StatusOK, map[string]any{"id": p.UserID, "email": p.Email, "role": p.Role})
}

// startSession sets the cookies (access, refresh, CSRF) and answers with
// the access token; the refresh token is in the body only for callers
// that handle it themselves.
func (h *handler) startSession(c echo.Context, status int, s auth.Session, refreshInBody bool) error {
	csrf := make([]byte, 32)
	if _, err := rand.Read(csrf); err != nil {
		return err
	}
	csrfToken := base64.RawURLEncoding.EncodeToString(csrf)
	secure := h.secureCookies(c)
	set := func(name, value, path string, expires time.Time, httpOnly bool) {
		c.SetCookie(&http.Cookie{Name: name, Value: value, Path: path, Expires: expires, MaxAge: int(time.Until(expires).Seconds()),
			HttpOnly: httpOnly, Secure: secure, SameSite: http.SameSiteLaxMode})
	}
	set(cookieAccess, s.AccessToken, "/", s.AccessExpiresAt, true)
	set(cookieRefresh, s.RefreshToken, refreshPath, s.RefreshExpiresAt, true)
	set(cookieCSRF, csrfToken, "/", s.RefreshExpiresAt, false)
	out := sessionJSON{User: userOut(s.User), AccessToken: s.AccessToken, ExpiresAt: s.AccessExpiresAt, CSRFToken: csrfToken}
	if refreshInBody {
		out.RefreshToken = s.RefreshToken
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(status, out)
}

func (h *handler) secureCookies(c echo.Context) bool {
	switch h.app.Config.CookieSecure {
	case "true":
		return true
	case "false":
		return false
	}
	return c.Scheme() == "https"
}

func clearCookies(c echo.Context) {
	for name, path := range map[string]string{cookieAccess: "/", cookieRefresh: refreshPath, cookieCSRF: "/"} {
		c.SetCookie(&http.Cookie{Name: name, Value: "", Path: path, MaxAge: -1, HttpOnly: name != cookieCSRF, SameSite: http.SameSiteLaxMode})
	}
}

func bindAdminAPI(g *echo.Group, h *handler) {
	g.POST("/admin/invites", h.createInvite, requireAdmin)
	g.GET("/admin/users", h.listUsers, requireAdmin)
	g.POST("/admin/users", h.createUser, requireAdmin)
}

func (h *handler) createInvite(c echo.Context) error {
	var in struct {
		Role storage.Role `json:"role"`
	}
	if c.Request().ContentLength != 0 {
		if err := bindJSON(c, &in); err != nil {
			return err
		}
	}
	code, expires, err := h.app.Auth.CreateInvite(c.Request().Context(), me(c), in.Role)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"invite": code, "role": defaultRole(in.Role), "expiresAt": expires})
}

func defaultRole(r storage.Role) storage.Role {
	if r == "" {
		return storage.RoleMember
	}
	return r
}

func (h *handler) listUsers(c echo.Context) error {
	users, err := h.app.Auth.ListUsers(c.Request().Context(), me(c))
	if err != nil {
		return err
	}
	out := make([]userJSON, len(users))
	for i, u := range users {
		out[i] = userOut(u)
	}
	return c.JSON(http.StatusOK, map[string]any{"users": out})
}

func (h *handler) createUser(c echo.Context) error {
	var in struct {
		credentials
		Role storage.Role `json:"role"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	u, err := h.app.Auth.CreateUser(c.Request().Context(), in.Email, in.Password, defaultRole(in.Role))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, userOut(u))
}

func bindKeysAPI(g *echo.Group, h *handler) {
	g.POST("/keys", h.createKey, requireAuth)
	g.GET("/keys", h.listKeys, requireAuth)
	g.DELETE("/keys/:id", h.deleteKey, requireAuth)
}

type keyJSON struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	Prefix           string    `json:"prefix"`
	Key              string    `json:"key,omitempty"`
	RPM              int       `json:"rpm,omitempty"`
	MonthlyBudgetUSD float64   `json:"monthlyBudgetUsd,omitempty"`
	CreatedAt        time.Time `json:"createdAt"`
}

func keyOut(k storage.APIKey, secret string) keyJSON {
	return keyJSON{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Key: secret, RPM: k.RPM,
		MonthlyBudgetUSD: float64(k.MonthlyBudgetMicros) / 1e6, CreatedAt: k.CreatedAt}
}

func (h *handler) createKey(c echo.Context) error {
	var in struct {
		Name             string  `json:"name"`
		RPM              int     `json:"rpm"`
		MonthlyBudgetUSD float64 `json:"monthlyBudgetUsd"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	limits := auth.KeyLimits{RPM: in.RPM, MonthlyBudgetMicros: int64(math.Round(in.MonthlyBudgetUSD * 1e6))}
	k, secret, err := h.app.Auth.CreateAPIKey(c.Request().Context(), me(c), in.Name, limits)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, keyOut(k, secret))
}

func (h *handler) listKeys(c echo.Context) error {
	keys, err := h.app.Auth.ListAPIKeys(c.Request().Context(), me(c))
	if err != nil {
		return err
	}
	out := make([]keyJSON, len(keys))
	for i, k := range keys {
		out[i] = keyOut(k, "")
	}
	return c.JSON(http.StatusOK, map[string]any{"keys": out})
}

func (h *handler) deleteKey(c echo.Context) error {
	if err := h.app.Auth.DeleteAPIKey(c.Request().Context(), me(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
