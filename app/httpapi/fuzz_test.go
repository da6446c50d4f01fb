package httpapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/penny-dev/penny/app/apperr"
)

// FuzzBindJSON: whatever a client sends, binding answers with the value or
// a clear 400 (or the body-size error), never a panic or a 500.
func FuzzBindJSON(f *testing.F) {
	f.Add(`{"content": "hi", "documentIds": ["a"], "provider": "auto"}`)
	f.Add(`{"content": 5}`)
	f.Add(`[1,2`)
	f.Add(``)
	f.Fuzz(func(t *testing.T, raw string) {
		e := echo.New()
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(raw))
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		c := e.NewContext(req, httptest.NewRecorder())
		var in struct {
			Content     string   `json:"content"`
			DocumentIDs []string `json:"documentIds"`
			Provider    string   `json:"provider"`
		}
		err := bindJSON(c, &in)
		var ae *apperr.Error
		if err != nil && (!errors.As(err, &ae) || ae.Status != http.StatusBadRequest) {
			t.Fatalf("binding %q: want a 400 apperr, got %T %v", raw, err, err)
		}
	})
}
