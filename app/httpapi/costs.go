package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/penny-dev/penny/app/apperr"
	"github.com/penny-dev/penny/app/costs"
)

func bindCostsAPI(g *echo.Group, h *handler) {
	g.GET("/costs/summary", h.costSummary, requireAuth)
	g.GET("/costs/budgets", h.budgetStatus, requireAuth)
	g.GET("/costs/metrics", h.costMetrics, requireAuth)
	g.GET("/costs/report", h.costReport, requireAuth)
	g.GET("/costs/statement", h.costStatement, requireAuth)
	g.GET("/admin/budgets", h.getBudgets, requireAdmin)
	g.POST("/messages/:id/feedback", h.feedback, requireAuth)
	g.GET("/quality/report", h.qualityReport, requireAdmin)
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

// putBudgets changes the budgets; a field left out keeps its value.
func (h *handler) putBudgets(c echo.Context) error {
	in := h.app.Budgets.Settings()
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	out, err := h.app.Budgets.Update(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// costQuery reads from, to (RFC 3339 or a date, UTC midnight; default:
// the current month up to now) and userId (admins only).
func costQuery(c echo.Context) (costs.Query, error) {
	now := time.Now().UTC()
	from := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	to := now.Add(time.Second)
	var err error
	if v := c.QueryParam("from"); v != "" {
		if from, err = parseTime(v); err != nil {
			return costs.Query{}, apperr.Invalid("from must be a date (2026-11-01) or an RFC 3339 time")
		}
	}
	if v := c.QueryParam("to"); v != "" {
		if to, err = parseTime(v); err != nil {
			return costs.Query{}, apperr.Invalid("to must be a date (2026-11-30) or an RFC 3339 time")
		}
	}
	p := me(c)
	return costs.Query{UserID: p.UserID, IsAdmin: p.IsAdmin(), ForUser: c.QueryParam("userId"), From: from, To: to}, nil
}

// costSummary totals the ledger in [from, to) by provider and service.
func (h *handler) costSummary(c echo.Context) error {
	q, err := costQuery(c)
	if err != nil {
		return err
	}
	s, err := h.app.Costs.Summarize(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s)
}

// costMetrics: totals, groups (groupBy=provider,model,service,user,kind,
// arm,day), savings, cache savings, waste, and the month's projection.
func (h *handler) costMetrics(c echo.Context) error {
	q, err := costQuery(c)
	if err != nil {
		return err
	}
	var groupBy []string
	for _, g := range strings.Split(c.QueryParam("groupBy"), ",") {
		if g = strings.TrimSpace(g); g != "" {
			groupBy = append(groupBy, g)
		}
	}
	m, err := h.app.Costs.Metrics(c.Request().Context(), q, groupBy, time.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m)
}

func monthParam(c echo.Context) (time.Time, error) {
	if v := c.QueryParam("month"); v != "" {
		return costs.ParseMonth(v)
	}
	now := time.Now().UTC()
	return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC), nil
}

// costReport is the month's savings report (format=md or csv).
func (h *handler) costReport(c echo.Context) error {
	q, err := costQuery(c)
	if err != nil {
		return err
	}
	month, err := monthParam(c)
	if err != nil {
		return err
	}
	format := c.QueryParam("format")
	if format == "" {
		format = "md"
	}
	var b strings.Builder
	if err := h.app.Costs.Report(c.Request().Context(), q, month, format, time.Now(), &b); err != nil {
		return err
	}
	ctype := "text/markdown; charset=utf-8"
	if format == "csv" {
		ctype = "text/csv; charset=utf-8"
	}
	c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="penny-report-%s.%s"`, month.Format("2006-01"), format))
	return c.Blob(http.StatusOK, ctype, []byte(b.String()))
}

// costStatement is the month's usage per user, day and model as CSV.
func (h *handler) costStatement(c echo.Context) error {
	q, err := costQuery(c)
	if err != nil {
		return err
	}
	month, err := monthParam(c)
	if err != nil {
		return err
	}
	var b strings.Builder
	if err := h.app.Costs.Statement(c.Request().Context(), q, month, h.app.UserEmail, &b); err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="penny-statement-%s.csv"`, month.Format("2006-01")))
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", []byte(b.String()))
}

func parseTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	return time.Parse(time.DateOnly, v)
}

// feedback rates one of the caller's answers.
func (h *handler) feedback(c echo.Context) error {
	var in struct {
		Rating  string `json:"rating"`
		Comment string `json:"comment"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	m, err := h.app.Quality.Feedback(c.Request().Context(), me(c).UserID, c.Param("id"), in.Rating, in.Comment)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m)
}

// qualityReport: per provider, model and arm — satisfaction,
// groundedness, error rate, latency, cost per answer, with counts.
func (h *handler) qualityReport(c echo.Context) error {
	q, err := costQuery(c)
	if err != nil {
		return err
	}
	r, err := h.app.Quality.Report(c.Request().Context(), q.From, q.To)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}
