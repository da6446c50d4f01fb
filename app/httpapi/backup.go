package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

func bindBackupAPI(g *echo.Group, h *handler) {
	g.GET("/admin/backup", h.backup, requireAdmin)
}

// backup streams a backup of the running instance (the store snapshot
// and the uploaded originals, as `penny backup` writes it). The snapshot
// is taken into the data dir first, so the store is not held while the
// archive travels to the client.
func (h *handler) backup(c echo.Context) error {
	name := fmt.Sprintf("penny-%s.tar.gz", time.Now().UTC().Format("20060102-150405"))
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "application/gzip")
	res.Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	// A large archive may take longer than the server's write timeout.
	_ = http.NewResponseController(res.Writer).SetWriteDeadline(time.Time{})
	res.WriteHeader(http.StatusOK)
	m, err := h.app.Backup(c.Request().Context(), res)
	if err != nil {
		// The status is sent: the client sees a truncated archive, which
		// restore refuses (gzip and tar both end wrongly).
		h.log.Error("backup failed", slog.String("request_id", requestID(c)), slog.Any("error", err))
		return nil
	}
	h.log.Info("backup written", slog.String("request_id", requestID(c)), slog.Int64("storeBytes", m.Store.Size), slog.Int("originals", len(m.Files)))
	return nil
}
