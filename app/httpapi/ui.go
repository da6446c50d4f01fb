package httpapi

import (
	"errors"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/penny-dev/penny/app/apperr"
	"github.com/penny-dev/penny/ui"
)

// bindUI serves the embedded UI: real files as they are, any other path
// outside the API as index.html (client-side routes).
func bindUI(e *echo.Echo, h *handler) {
	files := ui.FS()
	server := http.FileServer(http.FS(files))
	serve := func(c echo.Context) error {
		p := c.Request().URL.Path
		if strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/v1/") {
			return apperr.NotFound("route")
		}
		name := strings.TrimPrefix(path.Clean(p), "/")
		if name == "" {
			name = "index.html"
		}
		if _, err := fs.Stat(files, name); errors.Is(err, fs.ErrNotExist) {
			c.Request().URL.Path = "/"
		}
		server.ServeHTTP(c.Response(), c.Request())
		return nil
	}
	e.GET("/*", serve)
	e.HEAD("/*", serve)
}
