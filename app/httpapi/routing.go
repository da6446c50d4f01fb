package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

func bindRoutingAPI(g *echo.Group, h *handler) {
	g.GET("/admin/routing", h.getRouting, requireAdmin)
	g.PUT("/admin/routing", h.putRouting, requireAdmin)
	g.GET("/health/providers", h.providerHealth, requireAdmin)
}

func (h *handler) getRouting(c echo.Context) error {
	return c.JSON(http.StatusOK, h.app.Routing.Get(c.Request().Context()))
}

// putRouting sets the rollback switch, the traffic split and shadow
// traffic, at once and persistently; a field left out keeps its value.
func (h *handler) putRouting(c echo.Context) error {
	in := h.app.Routing.Stored()
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	st, err := h.app.Routing.Update(c.Request().Context(), in)
	if err != nil {
		return err
	}
	h.log.Info("routing changed", "by", me(c).UserID, "forceProvider", st.ForceProvider, "cheapPercent", st.CheapPercent, "shadowPercent", st.ShadowPercent)
	return c.JSON(http.StatusOK, st)
}

// providerHealth shows every configured model: status, breaker state,
// latency, last error, last probe.
func (h *handler) providerHealth(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"providers": h.app.Router.Health(), "embeddingModel": h.app.EmbedModel.Provider + "/" + h.app.EmbedModel.ID})
}
