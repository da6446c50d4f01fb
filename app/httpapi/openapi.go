package httpapi

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPI is the OpenAPI 3 description of every route; a test checks it
// against the route table.
//
//go:embed openapi.json
var openAPI []byte

func bindOpenAPI(g *echo.Group, h *handler) {
	g.GET("/openapi.json", func(c echo.Context) error {
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPI)
	})
}
