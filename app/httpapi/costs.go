package httpapi

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/penny-dev/penny/app/apperr"
	"github.com/penny-dev/penny/app/budgets"
	"github.com/penny-dev/penny/app/costs"
)

func bindCostsAPI(g *echo.Group, h *handler) {
	g.GET("/costs/summary", h.costSummary, requireAuth)
	g.GET("/costs/budgets", h.budgetStatus, requireAuth)
	g.GET("/admin/budgets", h.getBudgets, requireAdmin)
	g.PUT("/admin/budgets", h.putBudgets, requireAdmin)
}

// budgetStatus is this month's budgets that concern the caller, the alerts,
// and a banner line for the UI.
func (h *handler) budgetStatus(c echo.Context) error {
	p := me(c)
	st, err := h.app.Budgets.Status(c.Request().Context(), p.UserID, p.IsAdmin())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

func (h *handler) getBudgets(c echo.Context) error {
	return c.JSON(http.StatusOK, h.app.Budgets.Settings())
}

func (h *handler) putBudgets(c echo.Context) error {
	var in budgets.Settings
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	out, err := h.app.Budgets.Update(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// costSummary totals the ledger in [from, to). Both accept RFC 3339 or a
// date (YYYY-MM-DD, UTC midnight); the default is the current month up to
// now.
func (h *handler) costSummary(c echo.Context) error {
	now := time.Now().UTC()
	from := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	to := now.Add(time.Second)
	var err error
	if v := c.QueryParam("from"); v != "" {
		if from, err = parseTime(v); err != nil {
			return apperr.Invalid("from must be a date (2026-11-01) or an RFC 3339 time")
		}
	}
	if v := c.QueryParam("to"); v != "" {
		if to, err = parseTime(v); err != nil {
			return apperr.Invalid("to must be a date (2026-11-30) or an RFC 3339 time")
		}
	}
	p := me(c)
	s, err := h.app.Costs.Summarize(c.Request().Context(), costs.Query{UserID: p.UserID, IsAdmin: p.IsAdmin(),
		ForUser: c.QueryParam("userId"), From: from, To: to})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s)
}

func parseTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	return time.Parse(time.DateOnly, v)
}
