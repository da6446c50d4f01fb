package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/penny-dev/penny/app/apperr"
)

func bindHealthAPI(e *echo.Echo, h *handler) {
	e.GET("/healthz", h.healthz)
	e.GET("/readyz", h.readyz)
}

// healthz says the process is alive.
func (h *handler) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok", "version": h.app.Version})
}

// readyz says whether the store answers.
func (h *handler) readyz(c echo.Context) error {
	if err := h.app.Ready(c.Request().Context()); err != nil {
		return apperr.New(http.StatusServiceUnavailable, "not_ready", "the store is not answering").Wrap(err)
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
