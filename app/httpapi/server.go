// Package httpapi is penny's HTTP interface: an echo router with one
// bindXAPI function per feature (so the route table reads like the API
// reference), the middleware every request passes, and one error handler
// that answers {"error":{"code","message"}}.
package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/penny-dev/penny/app"
)

// handler carries the App to every route.
type handler struct {
	app *app.App
	log *slog.Logger
}

// New builds the echo router for a.
func New(a *app.App) *echo.Echo {
	h := &handler{app: a, log: a.Logger}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = h.handleError
	e.IPExtractor = ipExtractor(a)

	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{TargetHeader: echo.HeaderXRequestID}))
	e.Use(h.accessLog)
	e.Use(h.recordMetrics)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			h.log.Error("panic", slog.String("request_id", requestID(c)), slog.Any("error", err), slog.String("stack", string(stack)))
			return err
		},
	}))
	e.Use(securityHeaders)
	e.Use(h.bodyLimit)
	e.Use(h.authenticate)

	bindHealthAPI(e, h)
	bindMetricsAPI(e, h)
	api := e.Group("/api")
	bindOpenAPI(api, h)
	bindAuthAPI(api, h)
	bindAdminAPI(api, h)
	bindBackupAPI(api, h)
	bindRoutingAPI(api, h)
	bindKeysAPI(api, h)
	bindDocumentsAPI(api, h)
	bindRAGAPI(api, h)
	bindChatsAPI(api, h)
	bindCostsAPI(api, h)
	bindGatewayAPI(e, h)
	bindUI(e, h)
	return e
}

func ipExtractor(a *app.App) echo.IPExtractor {
	if len(a.Config.TrustedProxies) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range a.Config.TrustedProxies {
		_, n, _ := net.ParseCIDR(p.String())
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// Server returns the http.Server for e with penny's timeouts.
func Server(e *echo.Echo) *http.Server {
	return &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute,  // large uploads on slow links
		WriteTimeout:      10 * time.Minute, // long streamed answers
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// Serve serves on ln until ctx ends, then stops accepting, drains
// in-flight requests for up to the configured shutdown timeout and closes
// the App (flushing indexes, closing the store).
func Serve(ctx context.Context, a *app.App, ln net.Listener) error {
	srv := Server(New(a))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.Logger.Info("penny is serving", slog.String("addr", ln.Addr().String()), slog.String("version", a.Version))

	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
		a.Logger.Info("shutting down: draining requests", slog.Duration("timeout", a.Config.ShutdownTimeout))
		sctx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
		defer cancel()
		serveErr = srv.Shutdown(sctx)
		if serveErr != nil {
			_ = srv.Close()
		}
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	closeErr := a.Close()
	a.Logger.Info("stopped")
	return errors.Join(serveErr, closeErr)
}
