package httpapi

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

func requestID(c echo.Context) string { return c.Response().Header().Get(echo.HeaderXRequestID) }

// accessLog writes one structured line per request (no query string, no
// headers: they may carry secrets).
func (h *handler) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		} else if status >= 400 {
			level = slog.LevelWarn
		}
		attrs := []slog.Attr{
			slog.String("request_id", requestID(c)), slog.String("method", c.Request().Method),
			slog.String("path", c.Request().URL.Path), slog.Int("status", status),
			slog.Int64("bytes", c.Response().Size), slog.Duration("latency", time.Since(start)),
			slog.String("ip", c.RealIP()),
		}
		if p, ok := principalOf(c); ok {
			attrs = append(attrs, slog.String("user", p.UserID))
		}
		h.log.LogAttrs(c.Request().Context(), level, "request", attrs...)
		return nil
	}
}

const csp = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"

func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		hd := c.Response().Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Content-Security-Policy", csp)
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		if c.IsTLS() {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		return next(c)
	}
}

// bodyLimit caps request bodies: uploads at MaxUploadBytes, everything
// else at MaxBodyBytes. A declared length over the cap is refused at once.
func (h *handler) bodyLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		limit := h.app.Config.MaxBodyBytes
		if r.Method == http.MethodPost && strings.TrimSuffix(r.URL.Path, "/") == "/api/documents" {
			limit = h.app.Config.MaxUploadBytes
		}
		if r.ContentLength > limit {
			return errTooLarge(limit)
		}
		r.Body = http.MaxBytesReader(c.Response(), r.Body, limit)
		return next(c)
	}
}
