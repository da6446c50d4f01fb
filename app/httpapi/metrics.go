package httpapi

import (
	"crypto/subtle"
	"net"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/penny-dev/penny/app/apperr"
)

// bindMetricsAPI serves Prometheus metrics: to callers with
// PENNY_METRICS_TOKEN as a Bearer token, or, without a token configured,
// to callers on loopback only (aggregate spend is not for the internet).
func bindMetricsAPI(e *echo.Echo, h *handler) {
	handler := h.app.Metrics.Handler()
	e.GET("/metrics", func(c echo.Context) error {
		if tok := h.app.Config.MetricsToken; tok != "" {
			got := c.Request().Header.Get(echo.HeaderAuthorization)
			if subtle.ConstantTimeCompare([]byte(got), []byte("Bearer "+tok)) != 1 {
				return apperr.Unauthorized("send the metrics token as a Bearer token")
			}
		} else if ip := net.ParseIP(c.RealIP()); ip == nil || !ip.IsLoopback() {
			return apperr.Forbidden("/metrics answers loopback callers only; set PENNY_METRICS_TOKEN to scrape it from elsewhere")
		}
		handler.ServeHTTP(c.Response(), c.Request())
		return nil
	})
}

// recordMetrics counts every request by its route pattern.
func (h *handler) recordMetrics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		status := c.Response().Status
		if err != nil {
			status, _, _ = classify(err)
		}
		h.app.Metrics.Request(c.Request().Method, route, status, time.Since(start))
		return err
	}
}
